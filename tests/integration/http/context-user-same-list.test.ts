import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { seedGroupedShop } from '../../helpers/grouped-shop.js';
import { createPgliteTestDb } from '../../helpers/services.js';

type Answer = { modelVersion: string; strategy: string; fallback: boolean; items: { itemId: string; score: number; sources: string[] }[] };

/**
 * The grouped shop of tuned-per-group-serving.test.ts (styles bought by every customer of a taste, each variant by
 * one customer), trained through the API with tuning. A storefront that calls POST /v1/recommendations with
 * nothing but the customer's id got popularity (fallback: true) where GET /v1/users/:id/recommendations answered
 * the customer's hybrid list: the context path never reads purchases, and had no context to anchor on.
 */
describe('POST /v1/recommendations with only a userId, on a tuned grouped shop', () => {
  let t: TestApp;
  let version: string;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPgliteTestDb, env: { DATA_DIR: mkdtempSync(path.join(tmpdir(), 'context-user-')) } });
    await seedGroupedShop(t);
    const res = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { tune: { folds: 3, days: 30, minCoverage: 0 } } });
    expect(res.statusCode, res.body).toBe(202);
    const job = await finishedJob(t, `/v1/training-jobs/${res.json().jobId}`, 300_000);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    version = job.result.version;
    await t.services.serving.refresh();
  }, 600_000);
  afterAll(() => t?.dispose());

  const getList = async (userId: string, query: string) => {
    const res = await t.app.inject({ url: `/v1/users/${userId}/recommendations?${query}`, headers: auth('read') });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as Answer;
  };
  const postList = async (payload: Record<string, unknown>) => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/recommendations', headers: auth('read'), payload });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as Answer;
  };
  const strip = ({ modelVersion, strategy, fallback, items }: Answer) => ({ modelVersion, strategy, fallback, items });

  it('When a customer the model knows is asked for by id alone, Then both forms answer the same hybrid list', async () => {
    for (const userId of ['u0', 'u1', 'u6']) {
      const get = await getList(userId, 'k=5');
      expect(get).toMatchObject({ modelVersion: version, strategy: 'hybrid', fallback: false });
      expect(get.items).toHaveLength(5);
      const post = await postList({ userId, k: 5 });
      expect(strip(post)).toEqual(strip(get));
    }
  });

  it('When the POST carries list filters, Then they apply as on the GET form', async () => {
    const get = await getList('u2', 'k=3&exclude=a3-u2');
    const post = await postList({ userId: 'u2', k: 3, exclude: ['a3-u2'] });
    expect(strip(post)).toEqual(strip(get));
    expect(post.items.map((i) => i.itemId)).not.toContain('a3-u2');
  });

  it('When the POST brings a cart, Then the cart anchors the list as before (a context list, not the customer\'s)', async () => {
    const post = await postList({ userId: 'u0', items: ['a5-u0'], k: 5 });
    expect(post).toMatchObject({ strategy: 'context', fallback: false });
  });
});
