import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { bundledWorker } from './worker-bundle.js';

/** The modules that run in worker threads, by name, with the directory each sits in below src (and dist). */
export const WORKER_MODULES = {
  'fit-worker': 'training',
  'compute-worker': 'training',
  'tune-worker': 'training',
  'user-rows-worker': 'training',
  'als-worker': 'training',
  'fold-worker': 'evaluation',
  'evaluation-worker': 'evaluation',
  'artifact-read-worker': 'store',
  'redaction-worker': 'privacy',
  'audience-index-worker': 'audiences',
} as const;
export type WorkerModule = keyof typeof WORKER_MODULES;

/**
 * The URL of a worker module: a .ts file when running from the sources, a .js file of dist, or of a worker bundle when
 * this code runs inside one. Each lies one directory below its root, as this file does, so the root is this file's
 * parent directory in all three layouts (a bundle keeps the sources' directories).
 */
export function workerModule(name: WorkerModule): URL {
  return new URL(`../${WORKER_MODULES[name]}/${name}${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
}

/**
 * Starts a worker module in a worker thread (`workerData` and `transferList` as for `new Worker`). From the TypeScript
 * sources (tsx, vitest) the thread runs a bundle of it (worker-bundle.ts): a thread that loads the sources through tsx's
 * loader takes 0.5-0.8 s to start, a bundle ~0.25 s. Where no bundle can be written, the thread registers tsx's loader
 * itself (loader flags of the parent do not reach workers on Node 20). The compiled build needs neither.
 */
export function startModuleWorker(name: WorkerModule, workerData: unknown, transferList?: ArrayBuffer[]): Worker {
  const url = workerModule(name);
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData, transferList });
  const bundled = bundledWorker(url, Object.keys(WORKER_MODULES).map((m) => workerModule(m as WorkerModule)));
  if (bundled) return new Worker(bundled, { workerData, transferList });
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(url.href)}); })
    .catch((err) => { console.error(err); process.exit(1); });`;
  return new Worker(boot, { eval: true, workerData, transferList });
}
