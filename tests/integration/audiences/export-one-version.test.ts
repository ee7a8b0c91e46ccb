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
import { createTestApp, type TestApp } from '../../helpers/app.js';
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
