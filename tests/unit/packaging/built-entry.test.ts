import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

/**
 * tests/helpers/built-entry.ts, the compiled tree the process tests start from, in a repository of its own: a copy of
 * the helper beside a one-file src/ (whose output depends on tsconfig.json and reads sample/ relative to itself), so
 * that what makes the tree stale can be changed without touching this checkout.
 */
describe('the compiled tree of the process tests (tests/helpers/built-entry.ts)', () => {
  const REPO = process.cwd();
  const base = mkdtempSync(path.join(tmpdir(), 'built-entry-'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  const ENTRY = [
    "import { readFileSync } from 'node:fs';",
    'class Fields { declared: number | undefined; }',
    "const sample = readFileSync(new URL('../sample/rows.txt', import.meta.url), 'utf8').trim();",
    'console.log(JSON.stringify({ fields: Object.keys(new Fields()), sample }));',
  ].join('\n');

  function makeRepo(name: string): string {
    const repo = path.join(base, name);
    mkdirSync(path.join(repo, 'tests', 'helpers'), { recursive: true });
    cpSync(path.join(REPO, 'tests', 'helpers', 'built-entry.ts'), path.join(repo, 'tests', 'helpers', 'built-entry.ts'));
    mkdirSync(path.join(repo, 'src'));
    writeFileSync(path.join(repo, 'src', 'server.ts'), `${ENTRY}\n`);
    writeFileSync(path.join(repo, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', useDefineForClassFields: true } }));
    writeFileSync(path.join(repo, 'package.json'), '{ "type": "module" }\n');
    for (const dir of ['sample', 'models', 'openapi']) mkdirSync(path.join(repo, dir));
    writeFileSync(path.join(repo, 'sample', 'rows.txt'), `${name}\n`);
    mkdirSync(path.join(repo, 'node_modules'));
    symlinkSync(path.join(REPO, 'node_modules', 'esbuild'), path.join(repo, 'node_modules', 'esbuild'));
    return repo;
  }

  /** The compiled entry of `repo`'s src/server.ts, as a new test process gets it (the helper keeps it per process). */
  async function builtEntry(repo: string): Promise<string> {
    const helper = path.join(repo, 'tests', 'helpers', 'built-entry.ts');
    const script = `const m = await import(${JSON.stringify(helper)}); console.log(m.builtEntry('src/server.ts'));`;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, timeout: 60_000 });
    return stdout.trim();
  }

  const runEntry = async (entry: string) => JSON.parse((await run(process.execPath, [entry], { timeout: 60_000 })).stdout) as { fields: string[]; sample: string };
  const trees = (repo: string) => readdirSync(path.join(repo, 'node_modules', '.cache', 'recsvc-built')).sort();

  it('When tsconfig.json changes, Then the processes run the sources compiled as it now says, not the tree compiled before', async () => {
    const repo = makeRepo('tsconfig');
    expect(await runEntry(await builtEntry(repo))).toEqual({ fields: ['declared'], sample: 'tsconfig' });
    writeFileSync(path.join(repo, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', useDefineForClassFields: false } }));
    // A field only declared is no own property without define semantics, as tsx and tsc emit it now.
    expect((await runEntry(await builtEntry(repo))).fields).toEqual([]);
  }, 120_000);

  it('When the helper itself changes (how it lays the tree out), Then it makes another tree', async () => {
    const repo = makeRepo('helper');
    const before = await builtEntry(repo);
    appendFileSync(path.join(repo, 'tests', 'helpers', 'built-entry.ts'), '\n// another layout\n');
    expect(await builtEntry(repo)).not.toBe(before);
  }, 120_000);

  it('When the checkout is moved with its node_modules, Then the tree still reads the sample beside the sources', async () => {
    const repo = makeRepo('moved');
    await builtEntry(repo);
    const moved = path.join(base, 'moved-elsewhere');
    renameSync(repo, moved);
    // The same sources: the tree is kept, and its links must lead into the checkout where it now is.
    expect(await runEntry(await builtEntry(moved))).toMatchObject({ sample: 'moved' });
  }, 120_000);

  it('When a tree built over a day ago is still in use and other sources are compiled, Then the tree in use is kept', async () => {
    const repo = makeRepo('in-use');
    const entry = await builtEntry(repo);
    const tree = path.dirname(path.dirname(entry));
    const twoDaysAgo = new Date(Date.now() - 48 * 3600_000);
    utimesSync(tree, twoDaysAgo, twoDaysAgo);
    // A test process starts from it today (the sources unchanged since the tree was built)...
    expect(await builtEntry(repo)).toBe(entry);
    // ...while another process compiles edited sources (a developer's change, another branch).
    appendFileSync(path.join(repo, 'src', 'server.ts'), '// edited\n');
    await builtEntry(repo);
    expect(trees(repo)).toHaveLength(2);
    expect(existsSync(entry)).toBe(true);
  }, 120_000);
});
