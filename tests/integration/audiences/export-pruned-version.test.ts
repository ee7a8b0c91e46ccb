/**
 * A campaign export whose model version a newer training deletes while the export runs (MODEL_VERSIONS_KEPT):
 * on Postgres and Redis, with a real training that publishes, and prunes, in the middle of the export job.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { AUDIENCE_ARTIFACT } from '../../../src/audiences/audience-artifact.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { SHOP_RECIPE, seedShop } from '../serving/shop-fixture.js';
import { deleteRedisPrefix } from '../training/store-backends.js';

const services = (await serviceAvailable(POSTGRES_URL)) && (await serviceAvailable(REDIS_URL));

describe.skipIf(!services)('an export job whose model version a training deletes meanwhile (Postgres, Redis, MODEL_VERSIONS_KEPT=1)', () => {
  let t: TestApp;
  let redisStore: ModelStore;
  let prefix: string;
  let exportDir: string;
  let recipesDir: string;
  let train: () => Promise<string>;
  /** Run once, before the first read of a customer's list of `version`: what happens while the export runs. */
  let meanwhile: { version: string; run: () => Promise<void> } | null = null;

  beforeAll(async () => {
    prefix = `${randomPrefix('export_pruned')}:`;
    redisStore = createRedisModelStore({ url: REDIS_URL, prefix, versionsKept: 1 });
    // The real store; the first read of a customer's list of the armed version, or of its audience postings
    // (audience-artifact.ts, what an audience reads first), waits for `meanwhile`.
    const runArmed = async (version: string) => {
      const armed = meanwhile;
      if (armed && armed.version === version) {
        meanwhile = null;
        await armed.run();
      }
    };
    const store: ModelStore = {
      ...redisStore,
      async getEntries(version, table, keys) {
        await runArmed(version);
        return redisStore.getEntries(version, table, keys);
      },
      async getArtifact(version, name) {
        if (name === AUDIENCE_ARTIFACT) await runArmed(version);
        return redisStore.getArtifact(version, name);
      },
    };
    exportDir = await mkdtemp(join(tmpdir(), 'export-pruned-'));
    recipesDir = await mkdtemp(join(tmpdir(), 'export-pruned-recipes-'));
    await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
    t = await createTestApp({ createDb: createPostgresTestDb, store, env: { EXPORT_DIR: exportDir, MODEL_VERSIONS_KEPT: '1' } });
    await seedShop(t.services);
    const trainer = createTrainer({
      events: t.services.events, catalog: t.services.catalog, store: t.services.store, defaultRecipe: 'serving-test', recipesDir,
      isolation: 'inline', threads: 1, erasures: t.services.erasure,
    });
    train = async () => (await trainer.train({ tune: false })).version;
    await train();
    await t.services.serving.refresh();
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
    if (prefix) await deleteRedisPrefix(prefix);
    await rm(exportDir, { recursive: true, force: true });
    await rm(recipesDir, { recursive: true, force: true });
  });

  it('When a training deletes the version an export job is reading, Then the job starts again on the version then active, finishes, and its result names both', async () => {
    const first = (await redisStore.getActive())!.version;
    let second = '';
    // The nightly training (a worker's) publishes while the export reads its lists; keeping one version, it deletes the export's.
    meanwhile = { version: first, run: async () => void (second = await train()) };
    const start = await t.app.inject({ method: 'POST', url: '/v1/exports', headers: auth('admin'), payload: { kind: 'recommendations', k: 3, format: 'csv' } });
    expect(start.statusCode, start.body).toBe(202);
    const job = await finishedJob(t, `/v1/exports/${start.json().jobId}`, 60_000);
    expect(second).not.toBe('');
    // The version was really deleted: the store keeps the new one only.
    expect((await redisStore.listVersions()).map((v) => v.version)).toEqual([second]);

    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.result.modelVersion).toBe(second);
    expect(job.result.restartedFrom).toEqual([first]);
    expect(job.step).toBe(`export again: model version ${first} was deleted by a newer training`);
    const file = await t.app.inject({ url: `/v1/exports/${job.id}/file`, headers: auth('admin') });
    const rows = parse(file.body, { columns: true }) as Record<string, string>[];
    // Every customer of the shop, each with the new version's list as the API answers it, none a cold start.
    const users = [...new Set(rows.map((r) => r.userId))].sort();
    expect(users).toEqual([...['g', 'k'].flatMap((g) => Array.from({ length: 12 }, (_, j) => `${g}-user${j}`))].sort());
    expect(job.result.customers).toBe(24);
    expect(job.result.rows).toBe(rows.length);
    expect(new Set(rows.map((r) => r.modelVersion))).toEqual(new Set([second]));
    expect(rows.filter((r) => r.fallback !== 'false')).toEqual([]);
    for (const userId of ['g-user0', 'k-user7']) {
      const api = (await t.app.inject({ url: `/v1/users/${userId}/recommendations?k=3&strategy=hybrid`, headers: auth('read') })).json();
      expect(api.modelVersion).toBe(second);
      expect(rows.filter((r) => r.userId === userId).map((r) => r.itemId)).toEqual(api.items.map((i: { itemId: string }) => i.itemId));
    }
  }, 120_000);

  it('When a training deletes the served version while a product\'s audience reads its customers, Then the answer is 503 (ask again), not an audience short of them, and the next version answers whole', async () => {
    await t.services.serving.refresh();
    const served = (await redisStore.getActive())!.version;
    const { rows } = await t.services.db.query<{ item_id: string }>('SELECT item_id FROM purchase_events GROUP BY item_id ORDER BY count(DISTINCT user_id) DESC, item_id LIMIT 1');
    const item = rows[0].item_id;
    let next = '';
    // This process still serves `served` when the training deletes it: the audience's reads of it find nothing.
    meanwhile = { version: served, run: async () => void (next = await train()) };
    const during = await t.app.inject({ url: `/v1/items/${item}/audience?k=50&includeRecentBuyers=true`, headers: auth('admin') });
    expect(next).not.toBe('');
    expect(during.statusCode, during.body).toBe(503);
    expect(during.json().error.code).toBe('DEPENDENCY_UNAVAILABLE');
    await t.services.serving.refresh();
    const after = await t.app.inject({ url: `/v1/items/${item}/audience?k=50&includeRecentBuyers=true`, headers: auth('admin') });
    expect(after.statusCode, after.body).toBe(200);
    expect(after.json().modelVersion).toBe(next);
    // The shop's 24 customers each have a list: the audience ranks them all (k 50 > 24).
    expect(after.json().users).toHaveLength(24);
  }, 120_000);
});
