import net from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../../src/data/db.js';
import { instrumentDb } from '../../../src/data/instrumented-db.js';
import { withoutQueryTimeout, withQueryTimeout } from '../../../src/data/query-timeout.js';
import { ERASURE_SERIAL } from '../../../src/data/erasure-repository.js';
import { dependencyFailure } from '../../../src/errors.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';
import { lockHeld } from '../../helpers/lock-waits.js';
import { seedShop } from '../serving/shop-fixture.js';

const pgAvailable = await serviceAvailable(POSTGRES_URL);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pidOf = async (db: Pick<Db, 'query'>) => (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
const outcome = (work: Promise<unknown>) =>
  work.then(
    () => 'answered',
    (err: unknown) => {
      const failure = dependencyFailure(err);
      // A 503 that says which: a statement given up at a time limit (Postgres slow), or Postgres not reachable.
      if (failure) return /did not answer within the time limit/.test(failure.message) ? 'dependency failure: timed out' : 'dependency failure: not reachable';
      return String(err);
    },
  );

describe.skipIf(!pgAvailable)('a limit on each Postgres statement (PG_QUERY_TIMEOUT_MS)', () => {
  let testDb: TestDb;
  let db: Db;
  beforeAll(async () => {
    testDb = await createPostgresTestDb();
    db = testDb.db;
  });
  afterAll(() => testDb?.dispose());

  /** Resolves once the backend `pid` has ended (its statement ran out and it found its client gone). */
  async function ended(pid: number) {
    for (let tries = 0; tries < 200; tries++) {
      const { rows } = await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
      if (rows.length === 0) return;
      await sleep(50);
    }
    throw new Error(`backend ${pid} still there`);
  }

  it('When a statement outlives its limit, Then it fails as a dependency failure and its connection is not used again', async () => {
    const one = createPgDb(POSTGRES_URL, { max: 1 });
    try {
      const before = await pidOf(one);
      expect(await outcome(withQueryTimeout(100, () => one.query('SELECT pg_sleep(1)')))).toBe('dependency failure: timed out');
      // The pool's only connection still owes the late answer: the next statement gets a new one.
      const after = await pidOf(one);
      expect(after).not.toBe(before);
      await ended(before);
    } finally {
      await one.close();
    }
  });

  it('When a statement of a transaction outlives its limit, Then the transaction fails as a dependency failure and nothing of it is kept', async () => {
    await db.exec('CREATE TABLE limited_tx (id int)');
    let pid = 0;
    const work = withQueryTimeout(200, () =>
      db.transaction(async (tx) => {
        pid = await pidOf(tx);
        await tx.query('INSERT INTO limited_tx VALUES (1)');
        await tx.query('SELECT pg_sleep(1)');
      }),
    );
    expect(await outcome(work)).toBe('dependency failure: timed out');
    await ended(pid);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM limited_tx')).rows[0].n).toBe(0);
    // The pool goes on.
    expect(await outcome(withQueryTimeout(200, () => db.transaction((tx) => tx.query('INSERT INTO limited_tx VALUES (2)'))))).toBe('answered');
  });

  it('When the connection is reset while a limited statement runs, Then the statement fails as a dependency failure and the process hears no stray error', async () => {
    const crashes: unknown[] = [];
    const onCrash = (err: unknown) => crashes.push(err);
    process.on('uncaughtExceptionMonitor', onCrash);
    // A proxy that can drop its connections with a TCP reset (a load balancer failing over).
    const target = new URL(POSTGRES_URL);
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      client.on('error', () => {});
      upstream.on('error', () => {});
      client.on('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
      sockets.add(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const url = new URL(POSTGRES_URL);
    url.host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    const viaProxy = createPgDb(url.toString(), { max: 1 });
    try {
      const work = withQueryTimeout(10_000, () => viaProxy.query('SELECT pg_sleep(3)'));
      await sleep(300);
      for (const socket of sockets) socket.resetAndDestroy();
      expect(await outcome(work)).toBe('dependency failure: not reachable');
      await sleep(100);
      expect(crashes).toEqual([]);
    } finally {
      process.off('uncaughtExceptionMonitor', onCrash);
      await viaProxy.close();
      proxy.close();
    }
  });

  it('When Postgres cancels a statement itself (statement_timeout, lock_timeout, pg_cancel_backend), Then it fails as a dependency failure counted as a timeout, and the pool goes on', async () => {
    const registers = [new Registry()];
    const labelNames = ['statement'] as const;
    const m = {
      duration: new Histogram({ name: 'd', help: 'd', labelNames, registers }),
      errors: new Counter({ name: 'e', help: 'e', labelNames, registers }),
      timeouts: new Counter({ name: 't', help: 't', labelNames, registers }),
    };
    const one = createPgDb(POSTGRES_URL, { max: 1 });
    const other = createPgDb(POSTGRES_URL, { max: 1 });
    const counted = instrumentDb(one, m);
    const timeouts = async () => (await m.timeouts.get()).values.reduce((n, v) => n + v.value, 0);
    await db.exec('CREATE TABLE cancelled_by_server (id int)');
    const table = `${(await db.query<{ s: string }>('SELECT current_schema() AS s')).rows[0].s}.cancelled_by_server`;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holding = other.transaction(async (tx) => {
      await tx.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      locked();
      await released;
    });
    try {
      await isLocked;
      // The server's statement_timeout (SQLSTATE 57014), with no limit of ours.
      const statementTimeout = counted.transaction(async (tx) => {
        await tx.query("SET LOCAL statement_timeout = '100ms'");
        await tx.query(`SELECT * FROM ${table}`);
      });
      expect(await outcome(statementTimeout)).toBe('dependency failure: timed out');
      // Its lock_timeout (55P03).
      const lockTimeout = counted.transaction(async (tx) => {
        await tx.query("SET LOCAL lock_timeout = '100ms'");
        await tx.query(`SELECT * FROM ${table}`);
      });
      expect(await outcome(lockTimeout)).toBe('dependency failure: timed out');
      // A DBA cancelling the statement stuck behind the lock (57014).
      const pid = await pidOf(one);
      const waiting = outcome(counted.query(`SELECT * FROM ${table}`));
      for (let tries = 0; tries < 200; tries++) {
        const { rows } = await db.query<{ w: boolean }>("SELECT wait_event_type = 'Lock' AS w FROM pg_stat_activity WHERE pid = $1", [pid]);
        if (rows[0]?.w) break;
        await sleep(25);
      }
      await db.query('SELECT pg_cancel_backend($1)', [pid]);
      expect(await waiting).toBe('dependency failure: timed out');
      // Each counted as a statement given up (a transaction's statement and the transaction both).
      expect(await timeouts()).toBe(5);
    } finally {
      release();
      await holding;
    }
    try {
      // The pool goes on once the lock is released.
      expect(await outcome(counted.query(`SELECT * FROM ${table}`))).toBe('answered');
    } finally {
      await one.close();
      await other.close();
    }
  });

  it('When no limit is set, or work opts out of the limit it was started under, Then a long statement runs to its end', async () => {
    expect(await outcome(db.query('SELECT pg_sleep(0.3)'))).toBe('answered');
    expect(await outcome(withQueryTimeout(100, () => withoutQueryTimeout(() => db.query('SELECT pg_sleep(0.3)'))))).toBe('answered');
  });

  describe('through the app', () => {
    let t: TestApp;
    let locker: Db;
    let scans = 0;
    beforeAll(async () => {
      // Popularity scans counted as the app makes them.
      const counting: Db = { ...db, query: (sql, params) => (sql.includes('FROM item_buyers b') && scans++, db.query(sql, params)) };
      t = await createTestApp({ createDb: async () => ({ db: counting, dispose: async () => {} }), env: { PG_QUERY_TIMEOUT_MS: '300' } });
      await seedShop(t.services);
      locker = createPgDb(POSTGRES_URL, { max: 1, schema: (await db.query<{ s: string }>('SELECT current_schema() AS s')).rows[0].s });
    });
    afterAll(async () => {
      await t?.dispose();
      await locker?.close();
    });

    /** Takes a lock (`sql`) in a transaction of another session and holds it until the returned function is called. */
    const hold = (sql: string) => lockHeld(locker, sql);
    const lockItems = () => hold('LOCK TABLE items IN ACCESS EXCLUSIVE MODE');

    it('When a request waits on a lock longer than the limit, Then it gets 503 with Retry-After and its statement is cancelled, while a training (a job: no limit) waits the lock out and succeeds', async () => {
      // Another session holds the catalog: every read of items waits for it.
      const unlock = await lockItems();
      try {
        const item = await t.app.inject({ url: '/v1/items/g1', headers: auth('read') });
        expect(item.statusCode).toBe(503);
        expect(item.json()).toMatchObject({ error: { code: 'DEPENDENCY_UNAVAILABLE' } });
        // Postgres answered everything else: it was slow, and the message says so (not "not reachable").
        expect(item.json().error.message).toMatch(/did not answer within the time limit/);
        expect(item.json().error.message).not.toMatch(/not reachable/);
        expect(item.headers['retry-after']).toMatch(/^\d+$/);
        // The given-up statement does not go on waiting in its backend while the lock is held.
        expect(await waitersOnItems()).toBe(0);
        // Operations see it as a statement given up, not only as an error.
        const timeouts = (await t.services.metrics.dbTimeouts.get()).values.find((v) => v.labels.statement === 'select')?.value;
        expect(timeouts).toBeGreaterThanOrEqual(1);
        const submitted = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: {} });
        expect(submitted.statusCode).toBe(202);
        // The training reads the catalog; it waits well past the requests' limit.
        await sleep(1000);
        await unlock();
        const job = await finishedJob(t, `/v1/training-jobs/${submitted.json().jobId}`, 60_000);
        expect(job).toMatchObject({ status: 'succeeded' });
      } finally {
        // Already released unless an assertion failed: a failure of the holder must not hide that one.
        await unlock().catch(() => {});
      }
      expect((await t.app.inject({ url: '/v1/items/g1', headers: auth('read') })).statusCode).toBe(200);
    }, 90_000);

    /** Statements waiting for a lock on the items table, polled until none is left (or 5 s have passed). */
    async function waitersOnItems(): Promise<number> {
      let n = 0;
      for (let tries = 0; tries < 100; tries++) {
        n = (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'items'::regclass")).rows[0].n;
        if (n === 0) return 0;
        await sleep(50);
      }
      return n;
    }

    it('When an erasure waits longer than the request limit for the one before it, Then it waits it out (an admin operation that queues) and succeeds', async () => {
      // Another erasure in progress holds the erasures' lock (ERASURE_SERIAL).
      const unlock = await hold(ERASURE_SERIAL);
      try {
        const erasing = t.app.inject({ method: 'DELETE', url: '/v1/users/k-user3', headers: auth('admin') });
        await sleep(1000);
        await unlock();
        expect((await erasing).statusCode).toBe(204);
      } finally {
        // Already released unless an assertion failed: a failure of the holder must not hide that one.
        await unlock().catch(() => {});
      }
    });


    it('When a burst of erasures waits for one in progress, Then they wait without a connection each, and other requests still get one', async () => {
      // The app's pool has 4 connections (createPostgresTestDb): six erasures each waiting on the lock would hold them all.
      const unlock = await hold(ERASURE_SERIAL);
      let item;
      let erasures;
      try {
        const erasing = ['g-user0', 'g-user1', 'g-user2', 'g-user3', 'g-user4', 'g-user5'].map((id) =>
          t.app.inject({ method: 'DELETE', url: `/v1/users/${id}`, headers: auth('admin') }),
        );
        await sleep(300);
        item = await t.app.inject({ url: '/v1/items/g2', headers: auth('read') });
        await unlock();
        erasures = await Promise.all(erasing);
      } finally {
        await unlock().catch(() => {});
      }
      expect(item.statusCode).toBe(200);
      expect(erasures.map((e) => e.statusCode)).toEqual([204, 204, 204, 204, 204, 204]);
    });

    it('When a shared popularity scan takes longer than the first asking request may wait, Then that request gets 503, and the scan goes on to answer the next requests without being made again', async () => {
      const url = '/v1/popular?k=5&windowDays=45';
      const unlock = await lockItems();
      let first;
      try {
        first = await t.app.inject({ url, headers: auth('read') });
      } finally {
        // Already released unless an assertion failed: a failure of the holder must not hide that one.
        await unlock().catch(() => {});
      }
      expect(first.statusCode).toBe(503);
      expect(first.json()).toMatchObject({ error: { code: 'DEPENDENCY_UNAVAILABLE' } });
      // The shared scan outlived what this request may wait: a slow database, said as such.
      expect(first.json().error.message).toMatch(/did not answer within the time limit/);
      expect(first.headers['retry-after']).toMatch(/^\d+$/);
      const scansSoFar = scans;
      expect(scansSoFar).toBe(1);
      let next;
      for (let tries = 0; tries < 100; tries++) {
        next = await t.app.inject({ url, headers: auth('read') });
        if (next.statusCode === 200) break;
        await sleep(50);
      }
      expect(next!.statusCode).toBe(200);
      expect(next!.json().items.length).toBe(5);
      // The lists came from the scan the first request started.
      expect(scans).toBe(scansSoFar);
    });
  });
});
