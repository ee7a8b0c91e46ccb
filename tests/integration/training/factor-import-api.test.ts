import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeArtifact } from '../../../src/recommenders/artifact.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact } from '../../../src/serving/serving-artifacts.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const FIXTURES = 'tests/fixtures/factors';
const FACTORS = 4;

/**
 * The fixture's factors read straight from the Spark CSV part files (the text, not the reader under
 * test): id -> numbers. The .npy layout holds the same numbers (make-factor-fixtures.ts).
 */
function fixtureFactors(side: 'item' | 'user'): Map<string, number[]> {
  const dir = path.join(FIXTURES, 'spark', `${side}_factors`);
  const text = readFileSync(path.join(dir, 'part-00000-3f1c2a7e-0000-4000-8000-000000000000-c000.csv'), 'utf8');
  return new Map(
    text
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf(',')), JSON.parse(line.slice(line.indexOf('"') + 1, -1)) as number[]]),
  );
}

/** Customer u bought items u and u+3 (mod 8) in two orders; f-u6 has no imported row, f-i8 no factors. */
const bought = (u: number) => [u % 8, (u + 3) % 8].map((i) => `f-i${i}`);

async function seedShop(t: TestApp) {
  await t.services.catalog.upsertItems(Array.from({ length: 9 }, (_, i) => ({ id: `f-i${i}`, title: `thing ${i}`, categories: ['things'], price: 1 + i })));
  await t.services.catalog.upsertUsers(Array.from({ length: 7 }, (_, u) => ({ id: `f-u${u}`, attributes: {} })));
  await t.services.events.insertPurchases(
    Array.from({ length: 7 }, (_, u) =>
      bought(u).map((itemId, o) => ({ userId: `f-u${u}`, itemId, quantity: 1, orderId: `f-u${u}-o${o}`, ts: new Date(Date.UTC(2011, 0, 3 + o * 7 + u)) })),
    ).flat(),
  );
}

/** What ALS alone must recommend: the user's not-bought items with a positive dot product, best first. */
function expectedAlsList(userId: string, items: Map<string, number[]>, users: Map<string, number[]>): string[] {
  const x = users.get(userId)!;
  const u = Number(userId.slice(3));
  return [...items]
    .filter(([id]) => id.startsWith('f-i') && !bought(u).includes(id))
    .map(([id, y]) => ({ id, score: y.reduce((s, v, a) => s + v * x[a], 0) }))
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score)
    .map((s) => s.id);
}

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;

describe('factor import API', () => {
  let t: TestApp;
  let root: string;
  const submit = (payload: object, headers = auth('admin')) => t.app.inject({ method: 'POST', url: '/v1/factor-imports', headers, payload });
  const activeVersion = async () => (await t.app.inject({ url: '/v1/models', headers: auth('admin') })).json().active as string | null;
  const alsList = async (userId: string, k: number) =>
    (await t.app.inject({ url: `/v1/users/${userId}/recommendations?strategy=als&k=${k}`, headers: auth('read') })).json();

  /** Waits until serving has picked up `version` (each process re-reads the active pointer about once a second). */
  async function served(version: string) {
    for (let tries = 0; tries < 200; tries++) {
      const res = await t.app.inject({ url: '/v1/users/f-u0/recommendations?k=1', headers: auth('read') });
      if (res.json().modelVersion === version) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`version ${version} is not served`);
  }

  /** A copy of a fixture layout under the import root, changed by `edit`. */
  function layout(name: 'implicit' | 'spark' | 'spark-parquet', edit?: (dir: string) => void): string {
    const dir = mkdtempSync(path.join(root, `${name}-`));
    cpSync(path.join(FIXTURES, name), dir, { recursive: true });
    edit?.(dir);
    return dir;
  }

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'factor-root-'));
    t = await createTestApp({ createDb, env: { IMPORT_ROOTS: root } });
    await seedShop(t);
  });
  afterAll(() => t.dispose());

  for (const format of ['implicit', 'spark', 'spark-parquet'] as const) {
    it(`When ${format} factors are imported, Then the new active version's ALS list of each customer is the ranking by dot product of the given factors`, async () => {
      const res = await submit({ path: layout(format) });
      expect(res.statusCode).toBe(202);
      expect(res.headers.location).toBe(`/v1/factor-imports/${res.json().jobId}`);
      const job = await finishedJob(t, `/v1/factor-imports/${res.json().jobId}`);
      expect(job.error).toBeNull();
      expect(job.status).toBe('succeeded');
      expect(job.result.factorImport).toMatchObject({
        source: 'als',
        factors: FACTORS,
        items: { imported: 9, matched: 8, unknown: 1, unknownSample: ['zz-unknown-item'], missing: 1 },
        // Customer ids are never reported: the report stays with the job and the version, out of an erasure's reach.
        users: { imported: 7, matched: 6, unknown: 1, unknownSample: [], missing: 1 },
        origin: { format: { implicit: 'npy', spark: 'spark-csv', 'spark-parquet': 'spark-parquet' }[format] },
      });
      expect(await activeVersion()).toBe(job.result.version);
      await served(job.result.version);

      const items = fixtureFactors('item');
      const users = fixtureFactors('user');
      let compared = 0;
      for (let u = 0; u < 6; u++) {
        const expected = expectedAlsList(`f-u${u}`, items, users);
        if (expected.length === 0) continue;
        const answer = await alsList(`f-u${u}`, expected.length);
        expect(answer.modelVersion).toBe(job.result.version);
        expect(answer.items.map((i: { itemId: string }) => i.itemId)).toEqual(expected);
        expect(answer.items.every((i: { sources: string[] }) => i.sources.includes('als'))).toBe(true);
        compared += expected.length;
      }
      expect(compared).toBeGreaterThanOrEqual(6);

      // The other sources were trained as usual: the hybrid answers, and the customer without an
      // imported row gets an ALS list folded in from their purchases.
      const hybrid = await t.app.inject({ url: '/v1/users/f-u0/recommendations?k=3', headers: auth('read') });
      expect(hybrid.json()).toMatchObject({ strategy: 'hybrid', modelVersion: job.result.version, fallback: false });
      const models = (await t.app.inject({ url: '/v1/models', headers: auth('admin') })).json();
      expect(models.versions[0].info.factorImport.items.matched).toBe(8);
      expect(Object.keys(models.versions[0].info.durations)).toEqual(expect.arrayContaining(['fit:als', 'fit:item-knn', 'serving']));
    });
  }

  it('When the recipe tunes itself (models/robust.json), Then the factor import trains its weights as written instead of refitting ALS per fold', async () => {
    const res = await submit({ path: layout('implicit'), recipe: 'robust' });
    expect(res.statusCode).toBe(202);
    const job = await finishedJob(t, `/v1/factor-imports/${res.json().jobId}`);
    expect(job.error).toBeNull();
    expect(job.result).toMatchObject({ recipe: 'robust', factorImport: { source: 'als', items: { matched: 8 } } });
    expect(job.result.tuning).toBeUndefined();
    expect(Object.keys(job.result.durations)).not.toContain('tune');
  });

  it('When the factor files are wrong, Then the request is refused or the job fails with the reason, and the active model stays', async () => {
    const before = await activeVersion();
    expect(before).not.toBeNull();

    const narrowUsers = layout('implicit', (dir) => {
      const ids = readFileSync(path.join(dir, 'user_ids.txt'), 'utf8');
      writeFileSync(path.join(dir, 'user_factors.npy'), readFileSync(path.join(FIXTURES, 'numpy-written', 'f32_be.npy')));
      writeFileSync(path.join(dir, 'user_ids.txt'), ids);
    });
    const mismatch = await submit({ path: narrowUsers });
    expect(mismatch.statusCode).toBe(422);
    expect(mismatch.json().error).toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(/user_factors.npy: 3 factors per row, but item_factors.npy has 4/) });

    const outside = await submit({ path: path.resolve(FIXTURES, 'implicit') });
    expect(outside.statusCode).toBe(422);
    expect(outside.json().error.message).toMatch(/outside the directories imports may read/);
    expect((await submit({ path: layout('spark'), source: 'content' })).json().error).toMatchObject({ code: 'INVALID_RECIPE', message: expect.stringMatching(/"content" is not an ALS source/) });
    expect((await submit({ path: layout('spark') }, auth('write'))).statusCode).toBe(403);

    const ragged = layout('spark', (dir) => {
      const part = path.join(dir, 'item_factors', 'part-00000-3f1c2a7e-0000-4000-8000-000000000000-c000.csv');
      writeFileSync(part, readFileSync(part, 'utf8') + 'f-i9,"[0.5,0.5]"\n');
    });
    const strangers = layout('spark', (dir) => {
      const part = path.join(dir, 'item_factors', 'part-00000-3f1c2a7e-0000-4000-8000-000000000000-c000.csv');
      writeFileSync(part, 'nobody-sells-this,"[1,0,0,0]"\n');
    });
    for (const [dir, reason] of [
      [ragged, /item_factors\/part-00000-.*record 10 \(id "f-i9"\): 2 factors, the rows before have 4/],
      [strangers, /none of the 1 imported item ids is in the catalog \(e.g. "nobody-sells-this"\); nothing was published/],
    ] as const) {
      const res = await submit({ path: dir });
      expect(res.statusCode).toBe(202);
      const job = await finishedJob(t, `/v1/factor-imports/${res.json().jobId}`);
      expect(job.status).toBe('failed');
      expect(job.error).toMatch(reason);
      expect(await activeVersion()).toBe(before);
    }
  });

  it("When an erased customer came back and factors made before the erasure are imported, Then their old row is not used: they are folded in from their new purchases, and their id is not reported", async () => {
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/f-u1', headers: auth('admin') })).statusCode).toBe(204);
    // Back, as a new customer: a purchase after the erasure.
    const back = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: [{ userId: 'f-u1', itemId: 'f-i5', quantity: 1, orderId: 'f-u1-back', ts: new Date().toISOString() }] } });
    expect(back.json()).toMatchObject({ inserted: 1 });
    // The file still lists f-u1 (and one id nobody knows).
    const res = await submit({ path: layout('spark') });
    const job = await finishedJob(t, `/v1/factor-imports/${res.json().jobId}`);
    expect(job.error).toBeNull();
    // Before, f-u1's row was matched (6) and its vector served their ALS list.
    expect(job.result.factorImport.users).toEqual({ imported: 7, matched: 5, erased: 1, unknown: 1, unknownSample: [], missing: 2 });
    const version = job.result.version as string;
    const ids = decodeUserIdsArtifact((await t.services.store.getArtifact(version, ARTIFACT_USER_IDS))!);
    const { arrays } = decodeArtifact((await t.services.store.getArtifact(version, 'recommender:als'))!);
    const row = (id: string) => [...(arrays.userFactors as Float32Array).subarray(ids.indexOf(id) * FACTORS, (ids.indexOf(id) + 1) * FACTORS)];
    const file = fixtureFactors('user');
    expect(ids).toContain('f-u1');
    expect(row('f-u1')).not.toEqual(file.get('f-u1')!.map(Math.fround));
    // The others' rows are the file's.
    expect(row('f-u2')).toEqual(file.get('f-u2')!.map(Math.fround));
    const models = (await t.app.inject({ url: '/v1/models', headers: auth('admin') })).json();
    expect(JSON.stringify(models)).not.toContain('f-u1');
  });
});
