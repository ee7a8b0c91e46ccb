/**
 * MODEL_COPY_COMPRESSION through the service's wiring (config.ts, services.ts): a training of a process started with
 * `false` writes its version's copy uncompressed (as the release before wrote them, which that release reads), one
 * started with `true` or without the setting a compressed one; a value that is no boolean stops the start, as every
 * boolean setting's does. Against the real Postgres and Redis.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { createTestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, randomPrefix, REDIS_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';
import { seedShop, SHOP_RECIPE } from '../serving/shop-fixture.js';

const ready = (await serviceAvailable(POSTGRES_URL)) && (await serviceAvailable(REDIS_URL));
if (!ready && process.env.REQUIRE_SERVICES === 'true') throw new Error('this test needs Postgres and Redis and REQUIRE_SERVICES=true');

/** What a compressed chunk begins with (model-copy-codec.ts): a frame length of 0, then "RMCB". */
const PACKED = Buffer.from([0, 0, 0, 0, ...Buffer.from('RMCB')]);

describe('MODEL_COPY_COMPRESSION', () => {
  it('When it is no boolean, Then the start is refused naming it, as any boolean setting is', () => {
    for (const value of ['yes', 'off', 'TRUE']) {
      expect(() => loadConfig({ MODEL_COPY_COMPRESSION: value }), value).toThrow(ConfigError);
      expect(() => loadConfig({ MODEL_COPY_COMPRESSION: value }), value).toThrow(/MODEL_COPY_COMPRESSION/);
    }
    // Unset, or set empty (as every setting is read): on.
    expect(loadConfig({}).MODEL_COPY_COMPRESSION).toBe(true);
    expect(loadConfig({ MODEL_COPY_COMPRESSION: '' }).MODEL_COPY_COMPRESSION).toBe(true);
    expect(loadConfig({ MODEL_COPY_COMPRESSION: '0' }).MODEL_COPY_COMPRESSION).toBe(false);
  });
});

describe.skipIf(!ready)('MODEL_COPY_COMPRESSION through the services a process starts with', () => {
  let testDb: TestDb;
  let recipesDir: string;

  beforeAll(async () => {
    testDb = await createPostgresTestDb();
    recipesDir = mkdtempSync(path.join(tmpdir(), 'copy-setting-recipes-'));
    writeFileSync(path.join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
  }, 60_000);
  afterAll(async () => {
    await testDb?.dispose();
    if (recipesDir) rmSync(recipesDir, { recursive: true, force: true });
  });

  /** A process started with the setting (`undefined`: unset) trains once; its copy's chunks as stored. */
  async function trainedCopy(setting: string | undefined) {
    const store = createRedisModelStore({ url: REDIS_URL, prefix: `${randomPrefix('copy-setting')}:` });
    const t = await createTestApp({
      createDb: async () => ({ db: testDb.db, dispose: async () => {} }), store, recipesDir,
      env: {
        REDIS_URL, DEFAULT_RECIPE: 'serving-test', ERASURE_REFRESH_MS: '600000', RETRAIN_ON_LOST_MODEL: 'false',
        ...(setting === undefined ? {} : { MODEL_COPY_COMPRESSION: setting }),
      },
    });
    try {
      const trained = await t.services.trainer.train({ tune: false });
      expect(trained.copy?.chunks).toBeGreaterThan(0);
      const { rows } = await testDb.db.query<{ bytes: Buffer }>('SELECT bytes FROM model_copy_chunks WHERE version = $1 ORDER BY seq', [trained.version]);
      expect(rows.length).toBe(trained.copy!.chunks);
      return { chunks: rows.map((r) => r.bytes), decoded: trained.copy!.bytes };
    } finally {
      for (const m of await store.listVersions()) await store.deleteVersion(m.version);
      await t.dispose();
    }
  }
  const isPacked = (chunk: Buffer) => chunk.subarray(0, 8).equals(PACKED);
  const storedBytes = (chunks: Buffer[]) => chunks.reduce((n, c) => n + c.length, 0);

  it('When a process starts with it false, Then its training writes the copy uncompressed, byte for byte what it decodes to; true or unset, compressed', async () => {
    {
      const t = await createTestApp({ createDb: async () => ({ db: testDb.db, dispose: async () => {} }) });
      await seedShop(t.services);
      await t.dispose();
    }
    const off = await trainedCopy('false');
    expect(off.chunks.some(isPacked)).toBe(false);
    expect(storedBytes(off.chunks)).toBe(off.decoded);

    for (const setting of ['true', undefined]) {
      const on = await trainedCopy(setting);
      expect(on.chunks.every(isPacked), String(setting)).toBe(true);
      expect(storedBytes(on.chunks), String(setting)).toBeLessThan(on.decoded);
    }
  }, 120_000);
});
