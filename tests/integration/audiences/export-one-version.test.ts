/**
 * A campaign export is one model version's lists, as its result says: a training that publishes while it
 * runs (the nightly one, in a worker) does not change the version of the rows still to be written.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExport } from '../../../src/exports/run-export.js';
import { createServing } from '../../../src/serving/create-serving.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from '../serving/shop-fixture.js';
import { seedTwoShops } from '../training/purchase-fixture.js';

describe('a campaign export while a training publishes a new version', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'export-version-'));
    t = await createTestApp({ createDb: createPgliteTestDb, env: { EXPORT_DIR: dir } });
    await seedShop(t.services);
    await trainAndPublish(t.services, 'v-first');
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('When a new version is published during the export, Then every row is of the one model version the result names', async () => {
    let published = false;
    const serving = {
      activeModel: () => t.services.serving.activeModel(),
      recommendForExport: async (userId: string, q: Parameters<typeof t.services.serving.recommendForExport>[1], model?: Parameters<typeof t.services.serving.recommendForExport>[2]) => {
        if (!published) {
          published = true;
          // The nightly training (a worker) finishes while the export is under way.
          await trainAndPublish(t.services, 'v-second');
        }
        return t.services.serving.recommendForExport(userId, q, model);
      },
    };
    const { audiences, profiles, store } = t.services;
    const file = join(dir, 'during-training.csv');
    const result = await runExport({ serving, audiences, profiles, store }, { kind: 'recommendations', k: 3, format: 'csv' }, file);
    const rows = parse(await readFile(file, 'utf8'), { columns: true }) as { modelVersion: string }[];
    expect(result.modelVersion).toBe('v-first');
    expect(new Set(rows.map((r) => r.modelVersion))).toEqual(new Set(['v-first']));
    // The storefront meanwhile serves the new one.
    expect((await t.services.serving.activeModel())?.meta.version).toBe('v-second');
  });

});

describe('an export filtered by segment against a version without customer profiles', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPgliteTestDb });
    await seedShop(t.services);
    // Written as versions trained before profiles were kept: none.
    await trainAndPublish(t.services, 'v-no-profiles');
  }, 60_000);
  afterAll(() => t?.dispose());

  it('When an export names a segment or lifecycle stage, Then it is refused (422) before a job is queued, as POST /v1/audiences is', async () => {
    for (const filter of [{ segment: 'champions' }, { lifecycle: 'active' }]) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/exports', headers: auth('admin'), payload: { kind: 'recommendations', k: 3, ...filter } });
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json().error.message).toMatch(/no customer profiles/);
    }
    expect((await t.app.inject({ url: '/v1/exports', headers: auth('admin') })).json().jobs).toEqual([]);
  });
});

describe('a campaign export right after a training in the same process', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'export-after-training-'));
    t = await createTestApp({ createDb: createPgliteTestDb, env: { EXPORT_DIR: dir } });
    await seedTwoShops(t.services);
    await t.services.trainer.train({ tune: false });
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('When an export starts right after a training published, Then it is of the new version, not the one the process last served', async () => {
    // The storefront has been served the version in hand...
    const first = (await t.services.serving.recommendForUser('g0-u0', { k: 2 })).modelVersion;
    // ...when a training in this process (the server's inline runner, or npm run train handed to it) publishes another.
    const { version } = await t.services.trainer.train({ tune: false });
    expect(version).not.toBe(first);
    const { serving, audiences, profiles, store } = t.services;
    const result = await runExport({ serving, audiences, profiles, store }, { kind: 'recommendations', k: 2, format: 'csv' }, join(dir, 'after-training.csv'));
    expect(result.modelVersion).toBe(version);
  }, 120_000);
});

describe('an export and the storefront in one process, while a new version loads', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'export-while-loading-'));
    t = await createTestApp({ createDb: createPgliteTestDb, env: { EXPORT_DIR: dir } });
    await seedShop(t.services);
    await trainAndPublish(t.services, 'v-one');
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('When an export starts while a published version loads, Then the export waits for it, and storefront requests are still answered by the version in hand', async () => {
    // Loading a version's artifacts takes 1.5 s here, as a large version's do.
    let slow = false;
    const base = t.services.store;
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
    const serving = createServing({ store, db: t.services.db, catalog: t.services.catalog, recheckMs: 60_000 });
    await serving.ready();
    expect((await serving.recommendForUser('g-user1', { k: 3 })).modelVersion).toBe('v-one');
    // A worker's training publishes v-two: its load begins in the background.
    slow = true;
    await trainAndPublish(t.services, 'v-two');
    const { audiences, profiles } = t.services;
    const exporting = runExport({ serving, audiences, profiles, store }, { kind: 'recommendations', k: 3, format: 'csv' }, join(dir, 'during-load.csv'));
    const during = await serving.recommendForUser('g-user1', { k: 3 });
    const result = await exporting;
    slow = false;
    expect(during.modelVersion).toBe('v-one');
    expect(result.modelVersion).toBe('v-two');
  }, 60_000);
});

describe('an export whose version a training deletes meanwhile (MODEL_VERSIONS_KEPT=1)', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'export-pruned-'));
    t = await createTestApp({ createDb: createPgliteTestDb, env: { EXPORT_DIR: dir, MODEL_VERSIONS_KEPT: '1' }, store: await createMemoryModelStore({ versionsKept: 1 }) });
    await seedShop(t.services);
    await trainAndPublish(t.services, 'v-kept-first');
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("When a training deletes the export's version while it reads lists, Then the export fails asking to run it again, rather than write cold starts under that version's name", async () => {
    const { audiences, profiles, store } = t.services;
    const fresh = createServing({ store, db: t.services.db, catalog: t.services.catalog, recheckMs: 60_000 });
    let training: Promise<string> | undefined;
    const serving = {
      activeModel: () => fresh.activeModel(),
      recommendForExport: async (userId: string, q: Parameters<typeof fresh.recommendForExport>[1], model?: Parameters<typeof fresh.recommendForExport>[2]) => {
        // The nightly training publishes once the export is under way, deleting the version it reads.
        await (training ??= trainAndPublish(t.services, 'v-kept-second'));
        return fresh.recommendForExport(userId, q, model);
      },
    };
    const file = join(dir, 'during.csv');
    await expect(runExport({ serving, audiences, profiles, store }, { kind: 'recommendations', k: 3, format: 'csv' }, file)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/v-kept-first was deleted while the export read its lists.*export again/),
    });
    expect(await readFile(file, 'utf8').catch(() => null)).toBeNull();
  }, 60_000);
});
