/**
 * POST /v1/recommendations naming only a customer the model does not know, while Postgres stops answering
 * (SIGSTOP): the context step reads the customer's record and views, gets no answer, and hands over to
 * the customer's own list, which read Postgres again for their purchases and record: a second wait of
 * PG_QUERY_TIMEOUT_MS in a row for a request the first wait had already degraded. Counted by the
 * statements the request issued that failed, not by a time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG_SNAPSHOT_SQL } from '../../../src/data/catalog-repository.js';
import type { Db } from '../../../src/data/db.js';
import { ask, faultTestsRunnable, startFaultApp, type FaultApp } from './fault-app.js';

const runnable = await faultTestsRunnable();

/** The statements that failed, in order (the SQL's first line); transactions and streams are not the request's reads. */
const failed: string[] = [];
const recording = (db: Db): Db => ({
  ...db,
  kind: db.kind,
  query: <T,>(sql: string, params?: unknown[]) =>
    db.query<T>(sql, params).catch((err: unknown) => {
      failed.push(sql.trim().split('\n')[0]);
      throw err;
    }),
  stream: (sql, params, batchSize) => db.stream(sql, params, batchSize),
  exec: (sql) => db.exec(sql),
  transaction: (fn) => db.transaction(fn),
  close: () => db.close(),
});

describe.skipIf(!runnable)('a customer the model does not know asks with no context while Postgres hangs', () => {
  let fault: FaultApp;

  beforeAll(async () => {
    fault = await startFaultApp({ PG_QUERY_TIMEOUT_MS: '1000' }, { wrapDb: recording });
  });

  afterAll(() => fault?.dispose());

  it('When Postgres is frozen, Then the request waits for it once: its record and views (read together) are given up, nothing is asked after them, and the answer is a fallback', async () => {
    // Warm: the version's on-request scorer is loaded (from Redis), so only Postgres is missing below.
    const warm = await ask(fault.base, 'warm', '/v1/recommendations', { method: 'POST', scope: 'read', body: { userId: 'nobody-yet', k: 5 } });
    expect(warm.status).toBe(200);
    await fault.pg.freeze();
    try {
      failed.length = 0;
      const answer = await ask<{ fallback?: boolean; items?: unknown[] }>(
        fault.base,
        'context',
        '/v1/recommendations',
        { method: 'POST', scope: 'read', body: { userId: 'stranger-in-a-hang', k: 5 } },
        15_000,
      );
      expect(answer.status).toBe(200);
      expect(answer.body.fallback).toBe(true);
      expect(answer.body.items?.length).toBe(5);
      // Only the statements a customer's answer reads (record, views, purchases) are the request's. The
      // background loops also fail while Postgres is frozen, and how many of their turns fall in the request's
      // wait is a matter of the machine's speed: the catalog overlay's pass, and the erasure refresh
      // (ERASURE_REFRESH_MS: 'FROM erased_users' made 3 statements of 2 at load 22, fifty-third session).
      const requests = failed.filter((sql) => sql !== CATALOG_SNAPSHOT_SQL.trim().split('\n')[0] && /FROM (users|interaction_events|purchase_events)\b/.test(sql));
      // Their record and their recent views, read together: one wait, and no second pair (purchases, record).
      expect([...requests].sort()).toEqual([
        expect.stringMatching(/FROM users/),
        expect.stringMatching(/FROM interaction_events/),
      ]);
    } finally {
      await fault.pg.thaw();
    }
  });

  it('When Postgres is frozen, Then a customer the model knows still gets their personal answer, as from GET, not a fallback', async () => {
    // Their list needs nothing of Postgres (README, "Postgres down": known customers keep answering).
    const own = await ask<{ fallback?: boolean; strategy?: string; items?: { itemId: string }[] }>(fault.base, 'own', '/v1/users/g-user3/recommendations?k=5', { scope: 'read' });
    expect(own.status).toBe(200);
    expect(own.body.fallback).toBe(false);
    await fault.pg.freeze();
    try {
      const answer = await ask<{ fallback?: boolean; strategy?: string; items?: { itemId: string }[] }>(
        fault.base,
        'context',
        '/v1/recommendations',
        { method: 'POST', scope: 'read', body: { userId: 'g-user3', k: 5 } },
        15_000,
      );
      expect(answer.status).toBe(200);
      expect(answer.body.fallback).toBe(false);
      expect(answer.body.strategy).toBe(own.body.strategy);
      expect(answer.body.items?.map((i) => i.itemId)).toEqual(own.body.items?.map((i) => i.itemId));
    } finally {
      await fault.pg.thaw();
    }
  });
});
