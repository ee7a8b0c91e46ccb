/**
 * A campaign export reads its customers' lists EXPORT_CHUNK at a time. The sample-based export tests
 * (audiences-exports.test.ts) run on 35 customers, one chunk: this shop has two whole chunks and part of a
 * third, so a customer lost, doubled or written under another's name at a chunk's edge fails here.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_CHUNK, runExport } from '../../../src/exports/run-export.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const usePostgres = await serviceAvailable(POSTGRES_URL);
const CUSTOMERS = 2 * EXPORT_CHUNK + 7;
const ITEMS = 12;
const customer = (u: number) => `c${String(u).padStart(3, '0')}`;

describe('a campaign export of more customers than one chunk of reads', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'export-chunks-'));
    t = await createTestApp({ createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb, env: { EXPORT_DIR: dir } });
    await t.services.catalog.upsertItems(Array.from({ length: ITEMS }, (_, i) => ({ id: `i${i}`, title: `item ${i}`, categories: ['gifts'], price: 1 + i })));
    // Each customer two orders of two items, the items rotating with the customer, so the lists differ between customers.
    const start = Date.UTC(2011, 0, 3, 10);
    await t.services.events.insertPurchases(
      Array.from({ length: CUSTOMERS }, (_, u) =>
        [0, 1].flatMap((o) =>
          [0, 1].map((k) => ({
            userId: customer(u), itemId: `i${(u + 3 * o + k) % ITEMS}`, quantity: 1 + ((u + k) % 3), price: 2, orderId: `${customer(u)}-o${o}`,
            ts: new Date(start + (o * CUSTOMERS + u) * 3_600_000),
          })),
        ),
      ).flat(),
    );
    await t.services.trainer.train({ tune: false });
    await t.services.serving.refresh();
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`When ${CUSTOMERS} customers' lists are exported, Then each is in the file exactly once, under their own name, as the API answers it`, async () => {
    const { serving, audiences, profiles, store } = t.services;
    const file = join(dir, 'every-chunk.csv');
    const result = await runExport({ serving, audiences, profiles, store }, { kind: 'recommendations', k: 3, format: 'csv' }, file);
    const rows = parse(await readFile(file, 'utf8'), { columns: true }) as Record<string, string>[];
    const byUser = new Map<string, Record<string, string>[]>();
    for (const r of rows) byUser.set(r.userId, [...(byUser.get(r.userId) ?? []), r]);
    const everyone = Array.from({ length: CUSTOMERS }, (_, u) => customer(u));
    expect([...byUser.keys()].sort()).toEqual(everyone);
    expect(result.customers).toBe(CUSTOMERS);
    expect(result.rows).toBe(rows.length);
    for (const userId of everyone) {
      const api = (await t.app.inject({ url: `/v1/users/${userId}/recommendations?k=3&strategy=hybrid`, headers: auth('read') })).json();
      const exported = byUser.get(userId)!;
      expect({ userId, items: exported.map((r) => r.itemId), ranks: exported.map((r) => Number(r.rank)) }).toEqual({
        userId, items: api.items.map((i: { itemId: string }) => i.itemId), ranks: api.items.map((_: unknown, r: number) => r + 1),
      });
      expect(exported.map((r) => Number(r.score))).toEqual(api.items.map((i: { score: number }) => i.score));
    }
  }, 120_000);

  it('When they are exported as JSON Lines, Then there is one line per customer, none twice', async () => {
    const { serving, audiences, profiles, store } = t.services;
    const file = join(dir, 'every-chunk.jsonl');
    await runExport({ serving, audiences, profiles, store }, { kind: 'recommendations', k: 3, format: 'jsonl' }, file);
    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { userId: string });
    expect(lines.map((l) => l.userId).sort()).toEqual(Array.from({ length: CUSTOMERS }, (_, u) => customer(u)));
  });
});
