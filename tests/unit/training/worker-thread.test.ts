import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { bundledWorker } from '../../../src/training/worker-bundle.js';
import { WORKER_MODULES, workerModule, type WorkerModule } from '../../../src/training/worker-thread.js';

const names = Object.keys(WORKER_MODULES) as WorkerModule[];
const sources = names.map(workerModule);

describe('worker modules started from the TypeScript sources', () => {
  it('names each worker module by its source file', () => {
    for (const url of sources) {
      expect(url.pathname).toMatch(/\/src\/(training|evaluation|store|privacy|audiences)\/[a-z-]+-worker\.ts$/);
      expect(existsSync(url), url.pathname).toBe(true);
    }
  });

  it('runs each from a bundle of plain JavaScript, in one directory where a worker finds the others as workerModule looks for them', () => {
    const bundles = sources.map((url) => bundledWorker(url, sources));
    const dirs = new Set<string>();
    bundles.forEach((bundle, i) => {
      expect(bundle, names[i]).toBeDefined();
      const file = fileURLToPath(bundle!);
      expect(file.endsWith(`${WORKER_MODULES[names[i]!]}/${names[i]}.js`)).toBe(true);
      expect(readFileSync(file, 'utf8')).not.toMatch(/from ["'][^"']*\.ts["']/);
      dirs.add(path.dirname(path.dirname(file)));
      // Inside a bundle, workerModule resolves against the bundle's own URL, one directory below the bundles' root.
      for (const other of names) expect(existsSync(new URL(`../${WORKER_MODULES[other]}/${other}.js`, bundle)), `${names[i]} -> ${other}`).toBe(true);
    });
    expect(dirs.size).toBe(1);
    expect(JSON.parse(readFileSync(path.join([...dirs][0]!, 'package.json'), 'utf8'))).toEqual({ type: 'module' });
  });

  it('does not bundle again in a worker thread that runs the sources through tsx (its parent could not bundle)', async () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    const bundle = new URL('../../../src/training/worker-bundle.ts', import.meta.url).href;
    const code = `const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(bundle)}); })
        .then((m) => parentPort.postMessage(String(m.bundledWorker(new URL(${JSON.stringify(sources[0]!.href)}), ${JSON.stringify(sources.map((u) => u.href))}.map((u) => new URL(u))))));`;
    const answer = await new Promise((resolve, reject) => {
      const worker = new Worker(code, { eval: true });
      worker.once('message', (m) => void worker.terminate().then(() => resolve(m)));
      worker.once('error', reject);
    });
    expect(answer).toBe('undefined');
  });
});
