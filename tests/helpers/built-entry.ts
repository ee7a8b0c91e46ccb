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
 * with; its entries are then each bundled with the tree's modules (bundleEntries below). The Quick start's own test
 * (tests/e2e/server-start.test.ts) keeps `npm start`'s tsx. Made once before the files run (tests/global-setup.ts);
 * a process whose sources have no tree (a bench, an edit during a watch run) makes one at its first call.
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
/**
 * What the compiled output depends on besides the sources and esbuild's version. package.json too: esbuild reads the
 * repository's while it bundles (its `sideEffects` decides which imports are kept).
 */
const INPUTS = [path.join(REPO, 'tsconfig.json'), path.join(REPO, 'package.json'), fileURLToPath(import.meta.url)];
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
      bundleEntries(esbuild, path.join(tmp, 'src'));
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

/**
 * The process entries (src/server.ts, src/cli/*-command.ts) each made one file over their compiled one: the tree's
 * own modules bundled into it, packages left to node_modules (loaded as before). Node then links one module of the
 * sources instead of about 285 (0.4-0.5 s of CPU less a server start, bench/README "fifty-fifth session, helper s3").
 * The bundle is made from a copy of the compiled tree in which each module's `import.meta.url` is that module's own
 * file in the tree (`new URL('../data/migrate.js', import.meta.url)` from the entry's directory), so the paths the
 * sources take relative to themselves (migrations, dashboard, sample, worker threads' modules, runCli's "am I the
 * entry") resolve as from the unbundled tree, which stays beside it for the worker threads. Dynamic imports become
 * chunks beside the entries (`splitting`), so what a command loads lazily it still loads lazily.
 */
function bundleEntries(esbuild: typeof import('esbuild'), src: string): void {
  const compiled = sourceFiles(src).filter((f) => f.endsWith('.js'));
  const entries = compiled.filter((f) => f === path.join(src, 'server.js') || /^cli\/[^/]+-command\.js$/.test(path.relative(src, f)));
  // One build per directory of entries: a module's file is named relative to the directory its code lands in.
  for (const dir of [...new Set(entries.map((f) => path.dirname(f)))]) {
    const input = mkdtempSync(path.join(path.dirname(src), 'bundle-input-'));
    try {
      for (const f of compiled) {
        const copy = path.join(input, path.relative(src, f));
        mkdirSync(path.dirname(copy), { recursive: true });
        let code = readFileSync(f, 'utf8');
        if (code.includes('import.meta.url')) {
          const own = `./${path.relative(dir, f)}`.replace(/^\.\/\.\./, '..');
          // By esbuild, not by text: only the expression is renamed, never a string or comment that names it.
          code = `const __moduleUrl = new URL(${JSON.stringify(own)}, import.meta.url).href;\n${esbuild.transformSync(code, { define: { 'import.meta.url': '__moduleUrl' }, format: 'esm', target: `node${process.versions.node}` }).code}`;
        }
        writeFileSync(copy, code);
      }
      esbuild.buildSync({
        entryPoints: entries.filter((f) => path.dirname(f) === dir).map((f) => path.join(input, path.relative(src, f))),
        outdir: dir,
        bundle: true,
        splitting: true,
        packages: 'external',
        platform: 'node',
        format: 'esm',
        target: `node${process.versions.node}`,
        allowOverwrite: true,
        logLevel: 'silent',
      });
    } finally {
      rmSync(input, { recursive: true, force: true });
    }
  }
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
