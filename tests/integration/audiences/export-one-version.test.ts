/**
 * A campaign export is one model version's lists, as its result says: a training that publishes while it
 * runs (the nightly one, in a worker) does not change the version of the rows still to be written.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_RESTARTS, runExport } from '../../../src/exports/run-export.js';
import { createServing } from '../../../src/serving/create-serving.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from '../serving/shop-fixture.js';
import { seedTwoShops } from '../training/purchase-fixture.js';

// What is tested is exports against the model store's versions, not the database: a fresh schema on the running
// Postgres costs ~0.2 s of CPU where a PGlite database, even from the migrated snapshot, costs ~2 s (load 13).
const usePostgres = await serviceAvailable(POSTGRES_URL);

/** A shop in a fresh database (a schema of its own) with an export directory, seeded and trained (`version`), for one describe block. */
function shopForExports(opts: { seed?: (services: TestApp['services']) => Promise<unknown>; version?: string; env?: Record<string, string>; store?: () => Promise<ModelStore> }) {
  const shop = {} as { t: TestApp; dir: string };
  beforeAll(async () => {
    shop.dir = await mkdtemp(join(tmpdir(), 'export-'));
    shop.t = await createTestApp({ createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb, env: { EXPORT_DIR: shop.dir, ...opts.env }, ...(opts.store ? { store: await opts.store() } : {}) });
    await (opts.seed ?? seedShop)(shop.t.services);
    if (opts.version) await trainAndPublish(shop.t.services, opts.version);
  }, 120_000);
  afterAll(async () => {
    await shop.t?.dispose();
    if (shop.dir) await rm(shop.dir, { recursive: true, force: true });
  });
  return shop;
}

describe('a campaign export while a training publishes a new version', () => {
  const shop = shopForExports({ version: 'v-first' });

  it('When a new version is published during the export, Then every row is of the one model version the result names', async () => {
    let published = false;
    const serving = {
      activeModel: () => shop.t.services.serving.activeModel(),
      recommendForExport: async (userId: string, q: Parameters<typeof shop.t.services.serving.recommendForExport>[1], model?: Parameters<typeof shop.t.services.serving.recommendForExport>[2]) => {
        if (!published) {
          published = true;
          // The nightly training (a worker) finishes while the export is under way.
          await trainAndPublish(shop.t.services, 'v-second');
        }
        return shop.t.services.serving.recommendForExport(userId, q, model);
      },
    };
    const { audiences, profiles, store } = shop.t.services;
    const file = join(shop.dir, 'during-training.csv');
    const result = await runExport({ serving, audiences, profiles, store }, { kind: 'recommendations', k: 3, format: 'csv' }, file);
    const rows = parse(await readFile(file, 'utf8'), { columns: true }) as { modelVersion: string }[];
    expect(result.modelVersion).toBe('v-first');
    expect(new Set(rows.map((r) => r.modelVersion))).toEqual(new Set(['v-first']));
    // The storefront meanwhile serves the new one.
    expect((await shop.t.services.serving.activeModel())?.meta.version).toBe('v-second');
  });

});

describe('an export filtered by segment against a version without customer profiles', () => {
  // Written as versions trained before profiles were kept: none.
  const shop = shopForExports({ version: 'v-no-profiles' });

  it('When an export names a segment or lifecycle stage, Then it is refused (422) before a job is queued, as POST /v1/audiences is', async () => {
    for (const filter of [{ segment: 'champions' }, { lifecycle: 'active' }]) {
      const res = await shop.t.app.inject({ method: 'POST', url: '/v1/exports', headers: auth('admin'), payload: { kind: 'recommendations', k: 3, ...filter } });
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json().error.message).toMatch(/no customer profiles/);
    }
    expect((await shop.t.app.inject({ url: '/v1/exports', headers: auth('admin') })).json().jobs).toEqual([]);
  });
});

describe('a campaign export right after a training in the same process', () => {
  const shop = shopForExports({ seed: async (s) => { await seedTwoShops(s); await s.trainer.train({ tune: false }); } });

  it('When an export starts right after a training published, Then it is of the new version, not the one the process last served', async () => {
    // The storefront has been served the version in hand...
    const first = (await shop.t.services.serving.recommendForUser('g0-u0', { k: 2 })).modelVersion;
    // ...when a training in this process (the server's inline runner, or npm run train handed to it) publishes another.
    const { version } = await shop.t.services.trainer.train({ tune: false });
    expect(version).not.toBe(first);
    const { serving, audiences, profiles, store } = shop.t.services;
    const result = await runExport({ serving, audiences, profiles, store }, { kind: 'recommendations', k: 2, format: 'csv' }, join(shop.dir, 'after-training.csv'));
    expect(result.modelVersion).toBe(version);
  }, 120_000);
});

describe('an export and the storefront in one process, while a new version loads', () => {
  const shop = shopForExports({ version: 'v-one' });

  it('When an export starts while a published version loads, Then the export waits for it, and storefront requests are still answered by the version in hand', async () => {
    // Loading a version's artifacts takes 1.5 s here, as a large version's do.
    let slow = false;
    const base = shop.t.services.store;
    const store: ModelStore = new Proxy(base, {
      get(target, prop, receiver) {
        if (prop !== 'getArtifact') return Reflect.get(target, prop, receiver);
        return async (...args: Parameters<ModelStore['getArtifact']>) => {
          if (slow) await new Promise((r) => setTimeout(r, 1500));
          return target.getArtifact(...args);
        };
      },
    });
    // The API process's serving (an export job runs there with the inline job runner).
    const serving = createServing({ store, db: shop.t.services.db, catalog: shop.t.services.catalog, recheckMs: 60_000 });
    await serving.ready();
    expect((await serving.recommendForUser('g-user1', { k: 3 })).modelVersion).toBe('v-one');
    // A worker's training publishes v-two: its load begins in the background.
    slow = true;
    await trainAndPublish(shop.t.services, 'v-two');
    const { audiences, profiles } = shop.t.services;
    const exporting = runExport({ serving, audiences, profiles, store }, { kind: 'recommendations', k: 3, format: 'csv' }, join(shop.dir, 'during-load.csv'));
    const during = await serving.recommendForUser('g-user1', { k: 3 });
    const result = await exporting;
    slow = false;
    expect(during.modelVersion).toBe('v-one');
    expect(result.modelVersion).toBe('v-two');
  }, 60_000);
});

describe('an export whose every version a training deletes meanwhile (MODEL_VERSIONS_KEPT=1)', () => {
  const shop = shopForExports({ version: 'v-kept-0', env: { MODEL_VERSIONS_KEPT: '1' }, store: () => createMemoryModelStore({ versionsKept: 1 }) });

  it(`When trainings delete each version the export begins on, ${EXPORT_RESTARTS + 1} in a row, Then the export fails asking to run it again, rather than write cold starts under a version's name or begin again for ever`, async () => {
    const { audiences, profiles, store } = shop.t.services;
    const fresh = createServing({ store, db: shop.t.services.db, catalog: shop.t.services.catalog, recheckMs: 60_000 });
    // One training per version the export reads, once it is under way: each publishes and deletes that version.
    const trainings = new Map<string, Promise<string>>();
    const serving = {
      activeModel: () => fresh.activeModel(),
      latestModel: () => fresh.latestModel(),
      recommendForExport: async (userId: string, q: Parameters<typeof fresh.recommendForExport>[1], model?: Parameters<typeof fresh.recommendForExport>[2]) => {
        const reading = model!.meta.version;
        if (!trainings.has(reading)) trainings.set(reading, trainAndPublish(shop.t.services, `v-kept-${trainings.size + 1}`));
        await trainings.get(reading);
        return fresh.recommendForExport(userId, q, model);
      },
    };
    const file = join(shop.dir, 'during.csv');
    await expect(runExport({ serving, audiences, profiles, store }, { kind: 'recommendations', k: 3, format: 'csv' }, file)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/model versions v-kept-0, v-kept-1, v-kept-2, v-kept-3 were each deleted while the export read its lists.*export again/),
    });
    expect([...trainings.keys()]).toEqual(['v-kept-0', 'v-kept-1', 'v-kept-2', 'v-kept-3']);
    expect(await readFile(file, 'utf8').catch(() => null)).toBeNull();
    expect(await readFile(`${file}.part`, 'utf8').catch(() => null)).toBeNull();
  }, 60_000);
});

describe('an export whose version the model store loses (no training deleted it)', () => {
  const shop = shopForExports({ version: 'v-lost' });

  /** The shop's store, losing what `lose` says once `lost` is set: everything (a Redis restarted empty), or the version's customer list only (evicted). */
  const losing = (lose: 'everything' | 'customer list') => {
    const state = { lost: false };
    const store: ModelStore = new Proxy(shop.t.services.store, {
      get(target, prop, receiver) {
        const real = Reflect.get(target, prop, receiver) as unknown;
        if (typeof real !== 'function') return real;
        return async (...args: unknown[]) => {
          if (state.lost && prop === 'getArtifact' && args[1] === 'serving-user-ids') return null;
          if (state.lost && lose === 'everything') {
            if (prop === 'getActive' || prop === 'getArtifact') return null;
            if (prop === 'listVersions') return [];
            if (prop === 'getEntries') return (args[2] as string[]).map(() => null);
          }
          return (real as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    return { state, store };
  };

  it('When the store comes back empty while the export reads its lists, and the process serves the version from memory, Then the export fails saying the store lost that version, and leaves no file', async () => {
    const { state, store } = losing('everything');
    const fresh = createServing({ store, db: shop.t.services.db, catalog: shop.t.services.catalog, recheckMs: 60_000 });
    await fresh.ready();
    const serving = {
      activeModel: () => fresh.activeModel(),
      latestModel: () => fresh.latestModel(),
      recommendForExport: async (userId: string, q: Parameters<typeof fresh.recommendForExport>[1], model?: Parameters<typeof fresh.recommendForExport>[2]) => {
        // Redis restarted without persistence under the export.
        state.lost = true;
        return fresh.recommendForExport(userId, q, model);
      },
    };
    const { audiences, profiles } = shop.t.services;
    const file = join(shop.dir, 'store-emptied.csv');
    await expect(runExport({ serving, audiences, profiles, store }, { kind: 'recommendations', k: 3, format: 'csv' }, file)).rejects.toMatchObject({
      message: expect.stringMatching(/^the model store lost model version v-lost: it holds no model any more.*Train again/),
    });
    // Still served from memory, as documented: the export did not take it for a newer training's.
    expect((await fresh.latestModel())?.meta.version).toBe('v-lost');
    expect(await readFile(file, 'utf8').catch(() => null)).toBeNull();
    expect(await readFile(`${file}.part`, 'utf8').catch(() => null)).toBeNull();
  });

  it('When the active version\'s customer list is gone from the store (evicted), Then the export fails saying so, not a file without customers', async () => {
    const { state, store } = losing('customer list');
    state.lost = true;
    const { serving, audiences, profiles } = shop.t.services;
    const file = join(shop.dir, 'list-evicted.csv');
    await expect(runExport({ serving, audiences, profiles, store }, { kind: 'recommendations', k: 3, format: 'csv' }, file)).rejects.toMatchObject({
      message: expect.stringMatching(/^the model store lost the customer lists of model version v-lost .*Train again/),
    });
    expect(await readFile(file, 'utf8').catch(() => null)).toBeNull();
  });
});
