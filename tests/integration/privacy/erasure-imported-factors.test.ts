import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeArtifact } from '../../../src/recommenders/artifact.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact } from '../../../src/serving/serving-artifacts.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb } from '../../helpers/services.js';

const FIXTURES = 'tests/fixtures/factors';
const FACTORS = 4;

/** The fixture's user factors, from the Spark CSV part file: id -> numbers. */
function fileUserFactors(): Map<string, number[]> {
  const dir = path.join(FIXTURES, 'spark', 'user_factors');
  const text = readFileSync(path.join(dir, 'part-00000-3f1c2a7e-0000-4000-8000-000000000000-c000.csv'), 'utf8');
  return new Map(text.trim().split('\n').map((line) => [line.slice(0, line.indexOf(',')), JSON.parse(line.slice(line.indexOf('"') + 1, -1)) as number[]]));
}

/**
 * README "Erasure": "Artifacts that keep a row per training customer lose the erased customer's row in
 * every kept version: ALS's user factor is zeroed". A customer the shop knows by their attributes only
 * (no purchase in the training's data, e.g. bought before its window or only offline) is a training
 * customer, and a factor import (Spark ALS) gives them their imported row. Erased, that row must go too.
 */
describe('erasure of a customer whose ALS row was imported', () => {
  let t: TestApp;
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'erasure-factors-'));
    t = await createTestApp({ createDb: createPostgresTestDb, env: { IMPORT_ROOTS: root } });
    await t.services.catalog.upsertItems(Array.from({ length: 9 }, (_, i) => ({ id: `f-i${i}`, title: `thing ${i}`, categories: ['things'], price: 1 + i })));
    // f-u0..f-u4 bought; f-u5 is known by attributes only.
    await t.services.catalog.upsertUsers([...Array.from({ length: 5 }, (_, u) => ({ id: `f-u${u}`, attributes: {} })), { id: 'f-u5', attributes: { country: 'FR' } }]);
    await t.services.events.insertPurchases(
      Array.from({ length: 5 }, (_, u) =>
        [u % 8, (u + 3) % 8].map((i, o) => ({ userId: `f-u${u}`, itemId: `f-i${i}`, quantity: 1, orderId: `f-u${u}-o${o}`, ts: new Date(Date.UTC(2011, 0, 3 + o * 7 + u)) })),
      ).flat(),
    );
  });
  afterAll(async () => {
    await t?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it("When that customer is erased, Then their imported ALS user factor is zeroed in the stored model", async () => {
    const dir = mkdtempSync(path.join(root, 'spark-'));
    cpSync(path.join(FIXTURES, 'spark'), dir, { recursive: true });
    const res = await t.app.inject({ method: 'POST', url: '/v1/factor-imports', headers: auth('admin'), payload: { path: dir } });
    expect(res.statusCode).toBe(202);
    const job = await finishedJob(t, `/v1/factor-imports/${res.json().jobId}`);
    expect(job.error).toBeNull();
    const version = job.result.version as string;
    const ids = decodeUserIdsArtifact((await t.services.store.getArtifact(version, ARTIFACT_USER_IDS))!);
    const at = ids.indexOf('f-u5');
    expect(at).toBeGreaterThanOrEqual(0);
    const alsRow = async () => {
      const { arrays } = decodeArtifact((await t.services.store.getArtifact(version, 'recommender:als'))!);
      return [...(arrays.userFactors as Float32Array).subarray(at * FACTORS, (at + 1) * FACTORS)];
    };
    // Before: the file's vector of f-u5 is in the model.
    const fromFile = fileUserFactors().get('f-u5')!.map(Math.fround);
    expect(await alsRow()).toEqual(fromFile);

    expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/f-u5', headers: auth('admin') })).statusCode).toBe(204);

    // The index forgets the id...
    expect(decodeUserIdsArtifact((await t.services.store.getArtifact(version, ARTIFACT_USER_IDS))!)[at]).toBe('');
    // ...and the row learned of them (the imported vector) must be gone from the stored artifact.
    expect(await alsRow()).toEqual([0, 0, 0, 0]);
  });
});
