import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The service's process entries (src/server.ts, src/cli/*.ts) compiled to plain JavaScript, for tests that start
 * them as processes. `node --import tsx src/server.ts` sends each of the ~600 modules a process loads through
 * tsx's loader hooks: 2.2-2.6 s of CPU before the configuration is read, against 1.1-1.3 s for the same modules
 * compiled (load average 24; a server, worker or CLI started per test, dozens in the suite). The compiled tree is
 * what `npm run build` makes in dist/ (the Dockerfile's entry), written by esbuild, which is also what tsx compiles
 * with. The Quick start's own test (tests/e2e/server-start.test.ts) keeps `npm start`'s tsx.
 *
 * Kept in node_modules/.cache/recsvc-built/HASH/src, HASH made of everything the output depends on (the sources,
 * tsconfig.json, which esbuild reads too, this file, esbuild's and Node's versions), so processes of one checkout
 * share it and a change to any of them makes another. It sits one directory below HASH as src sits below the
 * repository, and HASH holds relative links to the repository's sample/, models/ and openapi/ (they lead into the
 * checkout wherever it is moved), so the paths the sources take relative to themselves (the bundled sample, the
 * migrations, the dashboard's files) resolve as from src. Not `../shared` (the tune command's default dataset,
 * tests name theirs).
 */
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SRC = path.join(REPO, 'src');
const CACHE = path.join(REPO, 'node_modules', '.cache', 'recsvc-built');
const LINKED = ['sample', 'models', 'openapi'];
/** What the compiled output depends on besides the sources and esbuild's version. */
const INPUTS = [path.join(REPO, 'tsconfig.json'), fileURLToPath(import.meta.url)];
/**
 * Trees of other sources (2 MB each) are removed once unused for a day, as the worker bundles are (worker-bundle.ts):
 * each process that starts from a tree marks it used.
 */
const STALE_MS = 24 * 3600_000;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .sort();
}

let root: string | undefined;

/** The directory of the compiled tree (HASH above), written by the first caller of this checkout's sources. */
function builtRoot(): string {
  if (root && existsSync(root)) return root;
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const files = sourceFiles(SRC);
  const hash = createHash('sha256').update(`${esbuild.version}\0${process.versions.node}\0`);
  for (const f of [...INPUTS, ...files]) hash.update(`${path.relative(REPO, f)}\0`).update(readFileSync(f)).update('\0');
  const dir = path.join(CACHE, hash.digest('hex').slice(0, 16));
  if (!existsSync(dir)) {
    mkdirSync(CACHE, { recursive: true });
    // Written aside and renamed: a process never sees half a tree (of two writers, the second's is dropped).
    const tmp = mkdtempSync(path.join(CACHE, 'tmp-'));
    try {
      esbuild.buildSync({
        entryPoints: files.filter((f) => f.endsWith('.ts')),
        outbase: SRC,
        outdir: path.join(tmp, 'src'),
        bundle: false,
        platform: 'node',
        format: 'esm',
        target: `node${process.versions.node}`,
        logLevel: 'silent',
      });
      // The migrations' SQL and the dashboard's files, as `npm run build` copies them.
      for (const f of files.filter((f) => !f.endsWith('.ts'))) cpSync(f, path.join(tmp, 'src', path.relative(SRC, f)));
      // Under node_modules no package.json of the repository applies: the files are ES modules.
      writeFileSync(path.join(tmp, 'package.json'), '{ "type": "module" }\n');
      // Relative (../../../../sample): the same from tmp as from HASH, and wherever the checkout is moved.
      for (const name of LINKED) symlinkSync(path.relative(tmp, path.join(REPO, name)), path.join(tmp, name));
      chmodSync(tmp, 0o755);
      renameSync(tmp, dir);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(dir)) throw err;
    }
    for (const name of readdirSync(CACHE)) {
      const other = path.join(CACHE, name);
      try {
        if (other !== dir && Date.now() - statSync(other).mtimeMs > STALE_MS) rmSync(other, { recursive: true, force: true });
      } catch {
        // gone meanwhile
      }
    }
  } else markUsed(dir);
  root = dir;
  return dir;
}

/** A tree's age (see STALE_MS) counts from its last use. */
function markUsed(dir: string): void {
  try {
    const now = new Date();
    utimesSync(dir, now, now);
  } catch {
    // not ours to touch: it may then be removed after a day, and written again
  }
}

/** The compiled file of a process entry named as in the sources (`src/server.ts`, `src/cli/worker-command.ts`). */
export function builtEntry(script: string): string {
  const relative = path.relative(SRC, path.resolve(REPO, script));
  if (relative.startsWith('..') || !relative.endsWith('.ts')) throw new Error(`not a source file under src/: ${script}`);
  return path.join(builtRoot(), 'src', relative.replace(/\.ts$/, '.js'));
}

/** `node` arguments that start a process entry compiled: spawn(process.execPath, [...nodeArgs('src/server.ts')]). */
export const nodeArgs = (script: string): string[] => [builtEntry(script)];
