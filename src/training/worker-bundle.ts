import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

/**
 * Worker modules bundled for threads started from the TypeScript sources (tsx, vitest). A thread that loads the sources
 * through tsx's loader hooks compiles and resolves each of its ~50 modules through them (0.5-0.8 s per thread start, and a
 * training starts four or more threads); a bundle is one plain ES module (~0.25 s).
 *
 * All worker modules are bundled at once, once per process, into one directory that keeps the sources' layout, so a
 * worker that starts other workers finds their bundles where worker-thread.ts looks for them. The directory is named by
 * a hash of the bundles, so processes running the same sources share it, and is written under node_modules/.cache, where
 * the bundles' imports of packages resolve as the sources' do.
 */
const SOURCE_ROOT = fileURLToPath(new URL('../', import.meta.url));
const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/recsvc-workers/', import.meta.url));
/**
 * Bundle directories of other sources are removed once unused this long. Each top-level worker start marks its directory
 * used, so only a process that has started no worker for a day can lose its bundles (the next start writes them again).
 */
const STALE_MS = 24 * 3600_000;

/** Bundle file by source file; null when bundling failed (the caller then falls back to tsx's loader). */
let bundles: Map<string, string> | null | undefined;

/**
 * The bundle of the worker module at `source` (a .ts URL among `modules`), or undefined when no bundle could be written
 * or this is a worker thread. Bundles removed meanwhile (unused for a day while another process ran other sources) are
 * written again.
 */
export function bundledWorker(source: URL, modules: readonly URL[]): URL | undefined {
  // Code inside a bundle asks for .js modules and never gets here. A worker thread running the sources was started
  // through tsx's loader because its parent could not bundle (or by another test runner): it stays on the loader
  // rather than fail at bundling again, once per thread.
  if (!isMainThread) return undefined;
  const entry = fileURLToPath(source);
  if (bundles === undefined || (bundles?.has(entry) && !existsSync(bundles.get(entry)!))) {
    try {
      bundles = writeBundles(modules.map((m) => fileURLToPath(m)));
    } catch (err) {
      bundles = null;
      process.emitWarning(`worker modules run through tsx's loader, which starts each thread 0.3-0.5 s slower: ${String(err)}`);
    }
  }
  const file = bundles?.get(entry);
  if (file === undefined) return undefined;
  markUsed(path.dirname(path.dirname(file))); // the bundles' root: every worker module lies one directory below it
  return pathToFileURL(file);
}

/** A bundle directory's age (see removeStale) counts from its last use. */
function markUsed(dir: string): void {
  try {
    const now = new Date();
    utimesSync(dir, now, now);
  } catch {
    // not ours to touch: it may then be removed after a day unused, and written again
  }
}

function writeBundles(entries: string[]): Map<string, string> {
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const outdir = path.join(CACHE_DIR, 'out'); // only names the in-memory output files
  const { outputFiles } = esbuild.buildSync({
    entryPoints: entries,
    outbase: SOURCE_ROOT,
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node}`,
    packages: 'external',
    write: false,
    logLevel: 'silent',
  });
  const hash = createHash('sha1');
  for (const f of outputFiles) hash.update(f.path).update(f.contents);
  const dir = path.join(CACHE_DIR, hash.digest('hex').slice(0, 16));
  if (!existsSync(dir)) {
    mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = mkdtempSync(path.join(CACHE_DIR, 'tmp-'));
    writeFileSync(path.join(tmp, 'package.json'), '{ "type": "module" }\n');
    for (const f of outputFiles) {
      const file = path.join(tmp, path.relative(outdir, f.path));
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, f.contents);
    }
    chmodSync(tmp, 0o755); // readable by other users of the checkout, as the rest of node_modules
    try {
      renameSync(tmp, dir); // atomic: another process may have written the same bundles meanwhile
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(dir)) throw err;
    }
    removeStale(dir);
  }
  return new Map(entries.map((e) => [e, path.join(dir, path.relative(SOURCE_ROOT, e).replace(/\.ts$/, '.js'))]));
}

/** Removes other bundle directories (and leftover temporary ones) not used for STALE_MS; another process may be at it too. */
function removeStale(keep: string): void {
  for (const name of readdirSync(CACHE_DIR)) {
    const dir = path.join(CACHE_DIR, name);
    try {
      if (dir !== keep && Date.now() - statSync(dir).mtimeMs > STALE_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      // gone meanwhile, or not ours to remove: neither stops this process's bundles
    }
  }
}
