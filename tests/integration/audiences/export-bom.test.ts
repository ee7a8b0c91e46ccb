/**
 * CSV exports are opened in Excel by marketing teams. Excel reads a CSV file without a byte-order mark in the
 * machine's legacy code page, so UTF-8 titles ("CRÈME BRÛLÉE") show garbled; with the mark it reads UTF-8. The
 * mark is asked for (`bom: true`, `--bom`): scripts that read the files as they are now keep reading them.
 * On Postgres and Redis; customers erased during an export job (DELETE /v1/users/:id) and after it are checked
 * in the finished file, whose rewrite by the erasure must keep the mark.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACT_USER_IDS } from '../../../src/serving/serving-artifacts.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { seedShop, shopData, trainAndPublish } from '../serving/shop-fixture.js';
import { deleteRedisPrefix } from '../training/store-backends.js';

const services = (await serviceAvailable(POSTGRES_URL)) && (await serviceAvailable(REDIS_URL));
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const TITLE = 'CRÈME BRÛLÉE';

describe.skipIf(!services)('CSV exports with a byte-order mark for Excel (Postgres, Redis)', () => {
  let t: TestApp;
  let prefix: string;
  let exportDir: string;
  /** Run once, right after an export job has read the model's customers: what happens while it runs. */
  let meanwhile: (() => Promise<void>) | null = null;

  beforeAll(async () => {
    prefix = `${randomPrefix('export_bom')}:`;
    const redisStore = createRedisModelStore({ url: REDIS_URL, prefix });
    const store: ModelStore = {
      ...redisStore,
      async getArtifact(version, name) {
        const bytes = await redisStore.getArtifact(version, name);
        const run = name === ARTIFACT_USER_IDS ? meanwhile : null;
        if (run) {
          meanwhile = null;
          await run();
        }
        return bytes;
      },
    };
    exportDir = await mkdtemp(join(tmpdir(), 'export-bom-'));
    t = await createTestApp({ createDb: createPostgresTestDb, store, env: { EXPORT_DIR: exportDir } });
    await seedShop(t.services);
    // The kitchen's glass in French: every kitchen customer's list holds some of it.
    const glass = shopData().items.filter((i) => /^k[0-4]$/.test(i.id));
    await t.services.catalog.upsertItems(glass.map((i, n) => ({ ...i, title: `${TITLE} ${n}` })));
    await trainAndPublish(t.services, 'v-bom');
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
    if (prefix) await deleteRedisPrefix(prefix);
    await rm(exportDir, { recursive: true, force: true });
  });

  const exportJob = async (payload: object) => {
    const start = await t.app.inject({ method: 'POST', url: '/v1/exports', headers: auth('admin'), payload });
    expect(start.statusCode, start.body).toBe(202);
    const job = await finishedJob(t, `/v1/exports/${start.json().jobId}`, 60_000);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    return job;
  };
  const fileOf = async (jobId: string) => {
    const res = await t.app.inject({ url: `/v1/exports/${jobId}/file`, headers: auth('admin') });
    expect(res.statusCode).toBe(200);
    return res.rawPayload;
  };
  const rowsOf = (bytes: Buffer) => parse(bytes, { columns: true, bom: true }) as Record<string, string>[];

  it('When a CSV export asks for a byte-order mark, Then its file starts with the UTF-8 mark and holds the same rows; without it the file starts with the header as before', async () => {
    const marked = await exportJob({ kind: 'recommendations', k: 10, format: 'csv', bom: true });
    const plain = await exportJob({ kind: 'recommendations', k: 10, format: 'csv' });
    const [withMark, without] = [await fileOf(marked.id), await fileOf(plain.id)];
    expect(withMark.subarray(0, 3)).toEqual(BOM);
    expect(withMark.subarray(3, 20).toString('utf8')).toBe('campaignId,userId');
    expect(without.subarray(0, 17).toString('utf8')).toBe('campaignId,userId');
    const rows = rowsOf(withMark);
    expect(rows.filter((r) => r.title.startsWith(TITLE)).length).toBeGreaterThan(0);
    // The same lists either way (their recommendationIds are signed per answer, so differ).
    const lists = (rs: Record<string, string>[]) => rs.map(({ userId, rank, itemId, title, score }) => ({ userId, rank, itemId, title, score }));
    expect(lists(rows)).toEqual(lists(rowsOf(without)));
    expect(marked.result.bytes).toBe(withMark.length);
    expect(marked.result.rows).toBe(rows.length);
    expect(marked.params.bom).toBe(true);
    expect(plain.params.bom).toBeUndefined();
  });

  it('When a byte-order mark is asked for a JSON Lines export, or is not true or false, Then the request is refused with 400 in the error shape and nothing is queued', async () => {
    const before = (await t.app.inject({ url: '/v1/exports', headers: auth('admin') })).json().jobs.length;
    for (const payload of [{ format: 'jsonl', bom: true }, { format: 'csv', bom: 'yes' }]) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/exports', headers: auth('admin'), payload });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
      expect(JSON.stringify(res.json().error.details)).toMatch(/bom/);
    }
    expect((await t.app.inject({ url: '/v1/exports', headers: auth('admin') })).json().jobs.length).toBe(before);
  });

  it('When a customer is erased while an export job with the mark runs, and another once it is written, Then the finished file holds neither of them and keeps its mark', async () => {
    const [during, after] = ['g-user3', 'k-user5'];
    let erased = 0;
    meanwhile = async () => {
      const res = await t.app.inject({ method: 'DELETE', url: `/v1/users/${during}`, headers: auth('admin') });
      expect(res.statusCode).toBe(204);
      erased++;
    };
    const job = await exportJob({ kind: 'recommendations', k: 3, format: 'csv', bom: true });
    expect(erased).toBe(1);
    const written = await fileOf(job.id);
    expect(written.subarray(0, 3)).toEqual(BOM);
    const rows = rowsOf(written);
    expect(rows.some((r) => r.userId === during)).toBe(false);
    expect(rows.filter((r) => r.userId === after).length).toBe(3);
    expect(job.result.rows).toBe(rows.length);
    expect(job.result.customers).toBe(23);

    expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${after}`, headers: auth('admin') })).statusCode).toBe(204);
    const rewritten = await readFile(join(exportDir, `${job.id}.csv`));
    expect(rewritten.subarray(0, 3)).toEqual(BOM);
    expect(rowsOf(rewritten)).toEqual(rows.filter((r) => r.userId !== after));
  });
});
