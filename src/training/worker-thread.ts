import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Starts the module at `url` in a worker thread. A worker started from the TypeScript sources (tsx,
 * vitest) first registers tsx's loader in its own thread (loader flags of the parent do not reach
 * workers on Node 20); the compiled build needs none.
 */
export function startModuleWorker(url: URL, workerData: unknown, transferList?: ArrayBuffer[]): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData, transferList });
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(url.href)}); })
    .catch((err) => { console.error(err); process.exit(1); });`;
  return new Worker(boot, { eval: true, workerData, transferList });
}

/** The URL of a sibling module of `base` (an import.meta.url), as .ts from the sources and .js when compiled. */
export const siblingModule = (base: string, name: string) => new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
