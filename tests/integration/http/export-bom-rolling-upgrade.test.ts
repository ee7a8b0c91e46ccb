/**
 * b1fbea3 adds `bom` to the export request, which is also the params of an `export` job. During a rolling upgrade
 * a replica (or `npm run worker`) still on the release before claims jobs from the same queue, and its handler
 * reads the params with exportRequest.parse: a z.strictObject that does not know `bom`. An export asked for with
 * `"bom": true` through a new replica and claimed by an older one fails at once ("Unrecognized key: bom") instead
 * of writing the file (as import-roots-rolling-upgrade.test.ts found for import jobs' `roots`).
 *
 * The older release's schema is reproduced here as src/exports/export-request.ts had it at b1fbea3^.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignId, EXPORT_FORMATS, MAX_EXPORT_AUDIENCE } from '../../../src/exports/export-request.js';
import { LIFECYCLE_STAGES, RFM_SEGMENTS } from '../../../src/profiles/segments.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from '../serving/shop-fixture.js';

/** exportRequest's object of the release before (export-request.ts at b1fbea3^), strict as it was. */
const olderExportRequest = z.strictObject({
  kind: z.enum(['recommendations', 'audience']).default('recommendations'),
  k: z.int().min(1).max(MAX_EXPORT_AUDIENCE).default(10),
  strategy: z.string().min(1).max(64).optional(),
  excludePurchased: z.boolean().optional(),
  segment: z.enum(RFM_SEGMENTS).optional(),
  lifecycle: z.enum(LIFECYCLE_STAGES).optional(),
  itemIds: z.array(z.string().min(1).max(256)).min(1).max(500).optional(),
  category: z.string().min(1).max(200).optional(),
  includeRecentBuyers: z.boolean().optional(),
  format: z.enum(EXPORT_FORMATS).default('csv'),
  campaignId: campaignId.optional(),
});

describe('export jobs asked with a byte-order mark and claimed by a replica of the release before (rolling upgrade)', () => {
  let t: TestApp;
  let exportDir: string;
  beforeAll(async () => {
    exportDir = await mkdtemp(join(tmpdir(), 'export-bom-upgrade-'));
    t = await createTestApp({ createDb: createPgliteTestDb, env: { EXPORT_DIR: exportDir } });
    await seedShop(t.services);
    await trainAndPublish(t.services, 'v-bom-upgrade');
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
    await rm(exportDir, { recursive: true, force: true });
  });

  const paramsOf = async (jobId: string) => (await t.services.db.query<{ params: unknown }>('SELECT params FROM jobs WHERE id = $1', [jobId])).rows[0].params;

  it('When a CSV export with "bom": true is queued through the API, Then the params it stores are read by the older release\'s handler', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/exports', headers: auth('admin'), payload: { format: 'csv', bom: true } });
    expect(res.statusCode, res.body).toBe(202);
    const parsed = olderExportRequest.safeParse(await paramsOf(res.json().jobId));
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    // The job still shows what was asked.
    const job = await t.app.inject({ url: `/v1/exports/${res.json().jobId}`, headers: auth('admin') });
    expect(job.json().params).toMatchObject({ format: 'csv', bom: true });
  });

  it('When a CSV export without bom is queued through the API, Then the older release reads its params (control)', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/exports', headers: auth('admin'), payload: { format: 'csv', campaignId: 'c-upgrade' } });
    expect(res.statusCode, res.body).toBe(202);
    const parsed = olderExportRequest.safeParse(await paramsOf(res.json().jobId));
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });
});
