/**
 * Fault behaviour against real servers the test owns (a private redis-server and a private Postgres
 * cluster on free loopback ports), killed and restarted while the app serves over HTTP. The app is
 * never restarted: every recovery here is the app's own.
 *
 * "Fails fast, never hangs" is asserted without a clock: every store and Postgres call the app made that
 * failed is recorded with its error (recordFailures), and none may be one that waited for a limit (a
 * command, connect or statement timeout: `timedOut`), as a hang would; a request that got no answer at
 * all within 10 s is recorded with status 0 and fails the status check, and the app's limits on a Redis
 * reply and on a Postgres connection are set above those 10 s, so a wait for either that ends in another
 * error is one too. A bound in milliseconds (1 s,
 * here until the fifty-third session) measured the machine: it failed at load 22 ('batch 0: 1140 ms')
 * while the product did the same thing. The slowest answer is still printed (console.log).
 */
import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../../src/data/db.js';
import { dependencyFailure } from '../../../src/errors.js';
import type { Services } from '../../../src/services.js';
import { auth, KEYS } from '../../helpers/app.js';
import { nodeArgs } from '../../helpers/built-entry.js';
import { freePort, type PrivatePostgres, type PrivateRedis } from '../../helpers/private-servers.js';
import { DAY, T0, trainAndPublish } from '../serving/shop-fixture.js';
import { ask, faultTestsRunnable, recordFailures, startFaultApp, timedOut, until, type Answer, type FaultApp } from './fault-app.js';

const runnable = await faultTestsRunnable();

const KNOWN_USERS = Array.from({ length: 12 }, (_, j) => [`g-user${j}`, `k-user${j}`]).flat();

type Sample = Answer<{
  fallback?: boolean;
  modelVersion?: string | null;
  strategy?: string;
  items?: { itemId: string; sources: string[] }[];
  error?: { code: string };
}>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!runnable)('store outages: the app keeps answering, fails fast and recovers by itself', () => {
  let fault: FaultApp;
  let redis: PrivateRedis;
  let pg: PrivatePostgres;
  let db: Db;
  let services: Services;
  let base: string;
  let version: string;
  /** Every failed call the app's services made to Postgres and to the model store, by message. */
  const dbFailures: string[] = [];
  const storeFailures: string[] = [];
  /** The slowest of `samples`, printed (not asserted: the machine's load decides it). */
  const slowest = (label: string, samples: readonly Sample[]) => {
    const worst = samples.reduce<Sample | undefined>((w, s) => (w && w.ms >= s.ms ? w : s), undefined);
    if (worst) console.log(`${label}: ${samples.length} answers, slowest ${worst.what} in ${Math.round(worst.ms)} ms`);
  };

  beforeAll(async () => {
    // Load shedding registered as in production (0 would leave the plugin out) at a delay no machine reaches
    // (600 s): on a loaded machine the event loop's delay passes 1 s and requests
    // get 503 OVERLOADED, the product's right answer to the machine, not to the outage under test.
    // The services' wait for a Postgres connection, and the model store's for a Redis reply
    // (REDIS_COMMAND_TIMEOUT_MS), are above the requests' 10 s give-up (`call`): a call that waits for either
    // limit and then fails with the refusal it met (no "timeout" in its message, so `timedOut` cannot see it)
    // gets no answer, and fails the status checks. With the product's 2 s limits such a wait passed every
    // assertion here (scratch edits: the Postgres one, fifty-third session, reviewer r3; a store call that
    // waited the command timeout and failed with its own error, fifty-fourth session, slowest answer 2041 ms).
    fault = await startFaultApp(
      { UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '600000', REDIS_COMMAND_TIMEOUT_MS: '60000' },
      { wrapDb: (d) => recordFailures(d, dbFailures), wrapStore: (st) => recordFailures(st, storeFailures), dbConnectTimeoutMs: 60_000 },
    );
    ({ redis, pg, db, services, base, version } = fault);
  });

  afterAll(() => fault?.dispose());

  afterEach(async () => {
    // A test that failed half-way must not leave the next one a stopped server (ECONNREFUSED in the next test
    // hid the first failure once). Starting one that runs fails at once and is ignored.
    await Promise.all([fault.pg.thaw(), fault.pg.start().catch(() => {})]);
    expect(fault.crashes).toEqual([]);
  });

  // Far above the bound asserted: a request that hangs is recorded as such instead of stalling the test.
  const call = (what: string, path: string, init: { method?: string; scope?: keyof typeof KEYS; body?: unknown } = {}): Promise<Sample> =>
    ask<Sample['body']>(base, what, path, init, 10_000);


  const recommend = (user: string) => call(`recommend ${user}`, `/v1/users/${user}/recommendations?k=5`, { scope: 'read' });

  /** `workers` loops sending requests made by `next` until `during` has finished; every response, in order. */
  async function underLoad(next: (n: number) => Promise<Sample>, during: (samples: readonly Sample[]) => Promise<void>, workers = 4): Promise<Sample[]> {
    const samples: Sample[] = [];
    let done = false;
    let n = 0;
    const loops = Array.from({ length: workers }, async () => {
      while (!done) samples.push(await next(n++));
    });
    try {
      await during(samples);
    } finally {
      done = true;
      await Promise.all(loops);
    }
    return samples;
  }

  const ready = async () => {
    const res = await fetch(`${base}/health/ready`);
    return { http: res.status, ...((await res.json()) as { status: string; checks: Record<string, boolean> }) };
  };

  /** A personal answer for a user of one half of the shop stays inside that half (g* or k* items). */
  const personal = (user: string, s: Sample) =>
    s.body.strategy === 'hybrid' && (s.body.items ?? []).length > 0 && s.body.items!.every((i) => i.itemId.startsWith(user[0]));

  it('When Redis is killed under load, Then no request fails or waits for a store timeout, known users still get personal answers, and all recovers once Redis is back', async () => {
    // Every known user asked once: their entries are now in this process.
    for (const user of KNOWN_USERS) expect(personal(user, await recommend(user))).toBe(true);

    const requests = [
      (n: number) => recommend(KNOWN_USERS[n % KNOWN_USERS.length]),
      () => call('similar', '/v1/items/g1/similar?k=5', { scope: 'read' }),
      () => call('popular', '/v1/popular?k=5&attribute=country:FR', { scope: 'read' }),
      () => call('context', '/v1/recommendations', { method: 'POST', scope: 'read', body: { items: ['k2'], k: 5 } }),
    ];
    let noticedAt = Infinity;
    storeFailures.length = 0;
    const samples = await underLoad(
      (n) => requests[n % requests.length](n),
      async (answered) => {
        await sleep(300);
        await redis.kill();
        // From when the app has seen the outage: a request already answered from kept live events
        // around the kill may still say fallback: false, and rightly so.
        const health = await until('store seen down', ready, (h) => !h.checks.modelStore);
        noticedAt = performance.now();
        expect(health).toMatchObject({ http: 503, status: 'unavailable', checks: { modelStore: false, database: true } });
        expect((await fetch(`${base}/health/live`)).status).toBe(200);
        // Enough known users' answers during the outage to see them all kept (was: however many fitted in 1.5 s),
        // or a request that got no answer, which fails below.
        await until(
          'known users answered during the outage',
          async () => answered.filter((s) => s.sentAt > noticedAt && s.what.startsWith('recommend')).length,
          (n) => n > 10 || answered.some((s) => s.status === 0),
          60_000,
        );
      },
    );
    const duringOutage = samples.filter((s) => s.sentAt > noticedAt);
    expect(samples.filter((s) => s.status !== 200).map((s) => `${s.what}: ${s.status}`)).toEqual([]);
    slowest('Redis killed', samples);
    // The store failed (Redis was down), and every call failed at once: refused or closed, none after a timeout.
    expect(storeFailures.length).toBeGreaterThan(0);
    expect(storeFailures.filter(timedOut)).toEqual([]);
    const known = duringOutage.filter((s) => s.what.startsWith('recommend'));
    expect(known.length).toBeGreaterThan(10);
    // Purchases since training are unknown meanwhile: personal, but marked as a fallback.
    for (const s of known) {
      expect(personal(s.what.split(' ')[1], s)).toBe(true);
      expect(s.body).toMatchObject({ fallback: true, modelVersion: version });
    }

    // Operations still scrape: metrics answer (store-backed gauges as they were), and these fallbacks are counted as the outage's.
    const scrape = async () => {
      const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(30_000) });
      return { status: res.status, text: await res.text() };
    };
    const fallbacks = (text: string) => Number(/recsvc_serving_fallbacks_total\{kind="user",reason="store-unavailable"\} (\d+)/.exec(text)?.[1]);
    const scraped = await scrape();
    expect(scraped.status).toBe(200);
    expect(storeFailures.filter(timedOut)).toEqual([]);
    expect(scraped.text).toMatch(/recsvc_store_errors_total\{[^}]*\} [1-9]/);
    expect(fallbacks(scraped.text)).toBeGreaterThanOrEqual(known.length);
    expect(scraped.text).toMatch(/recsvc_serving_fallbacks_total\{kind="user",reason="unknown-user"\} 0\b/);

    // A purchase while Redis is down is stored (Postgres is the system of record).
    const bought = await call('purchase', '/v1/events', {
      method: 'POST',
      scope: 'write',
      body: { events: [{ eventId: 'during-redis-outage', userId: 'g-user1', itemId: 'g7', quantity: 1, ts: new Date(T0 + 90 * DAY).toISOString() }] },
    });
    expect(bought).toMatchObject({ status: 200, body: { inserted: 1 } });

    // Back, but empty (no persistence): the store answers, no model is active, so not ready; the
    // version in memory keeps serving, with no popularity query per request.
    await redis.start();
    const back = await until('ready after Redis restart', ready, (h) => h.checks.modelStore);
    expect(back).toMatchObject({ http: 503, checks: { modelStore: true, database: true, activeModel: false } });
    const served = await until('live reads again', () => recommend('k-user4'), (s) => s.body.fallback === false);
    expect(served.body.modelVersion).toBe(version);
    expect(personal('k-user4', served)).toBe(true);

    // A training publishes into the new Redis: picked up without restarting the app.
    const next = await trainAndPublish(services, `${version}-2`);
    expect((await until('ready with the new model', ready, (h) => h.http === 200)).checks).toEqual({
      database: true,
      modelStore: true,
      modelStoreWritable: true,
      activeModel: true,
      erasureCatchUp: true,
    });
    // Ready says the store holds an active model; this process may still be readying it beside the
    // version in hand, which answers meanwhile.
    const fresh = await until('the new model served', () => recommend('g-user5'), (s) => s.body.modelVersion === next);
    expect(fresh.body).toMatchObject({ modelVersion: next, fallback: false });
    expect(personal('g-user5', fresh)).toBe(true);
  }, 60_000);

  it('When Postgres stops while a transaction holds a connection between two statements, Then that transaction fails as a dependency failure and nothing else happens', async () => {
    const outcome = await db
      .transaction(async (tx) => {
        await tx.query('SELECT 1');
        // The server goes away while this client is checked out and idle: its 'error' event (57P01 /
        // connection terminated) used to have no listener and end the process.
        await pg.stop();
        await sleep(100);
        await tx.query('SELECT 1');
      })
      .then(
        () => 'committed',
        (err: unknown) => (dependencyFailure(err) ? 'dependency failure' : String(err)),
      );
    expect(outcome).toBe('dependency failure');
    await pg.start();
    expect(await until('queries again', () => db.query('SELECT 1 AS one').then((r) => r.rows.length, () => 0), (n) => n === 1)).toBe(1);
  });

  it('When Postgres stops during ingestion, Then writes get 503 with Retry-After without waiting for a timeout, known users still get answers, and retried batches land exactly once after the restart', async () => {
    const batch = (n: number) => ({
      events: Array.from({ length: 5 }, (_, j) => ({
        eventId: `fault-b${n}-e${j}`,
        userId: `g-user${(n + j) % 12}`,
        itemId: `g${(n * 5 + j) % 10}`,
        quantity: 1,
        ts: new Date(T0 + 100 * DAY + n * 60_000 + j).toISOString(),
      })),
    });
    const send = (n: number) => call(`batch ${n}`, '/v1/events', { method: 'POST', scope: 'write', body: batch(n) });
    let seen: readonly Sample[] = [];
    const writes503 = () => seen.filter((w) => w.status === 503).length;

    // A windowed popularity list (counted by Postgres) asked before the outage is kept.
    const windowed = '/v1/popular?k=5&windowDays=30&attribute=country:FR';
    const fallbacksOf = async (reason: string) =>
      (await services.metrics.fallbacks.get()).values.find((v) => v.labels.kind === 'user' && v.labels.reason === reason)?.value ?? 0;
    const [unknownBefore, outageBefore] = [await fallbacksOf('unknown-user'), await fallbacksOf('store-unavailable')];
    let notPrecomputed: Sample | undefined;
    expect(await call('windowed popular', windowed, { scope: 'read' })).toMatchObject({ status: 200 });
    let readsDuringOutage: Sample[] = [];
    dbFailures.length = 0;
    const writes = await underLoad(
      send,
      async (samples) => {
        seen = samples;
        // Some batches stored before the outage (was: however many fitted in 300 ms, none at a high load).
        await until('a batch stored', async () => samples.filter((w) => w.status === 200).length, (n) => n > 0, 60_000);
        await pg.stop();
        readsDuringOutage = await Promise.all([...KNOWN_USERS.slice(0, 6).map(recommend), call('windowed popular', windowed, { scope: 'read' })]);
        // A customer the model did not precompute is scored from their purchases, which Postgres holds.
        notPrecomputed = await recommend('fault-not-precomputed');
        // Some writes refused by the stopped Postgres (was: however many came in 700 ms).
        await until('writes refused', async () => writes503(), (n) => n >= 2, 60_000);
        expect(await ready()).toMatchObject({ http: 503, checks: { database: false } });
        expect((await fetch(`${base}/health/live`)).status).toBe(200);
      },
      2,
    );
    slowest('Postgres stopped: writes', writes);
    slowest('Postgres stopped: reads', readsDuringOutage);
    // Postgres refused (it was stopped), and every call failed at once: none waited for a connect or statement timeout.
    expect(dbFailures.length).toBeGreaterThan(0);
    expect(dbFailures.filter(timedOut)).toEqual([]);
    const sent = new Set(writes.map((w) => Number(w.what.split(' ')[1])));
    const refused = writes.filter((w) => w.status !== 200);
    expect(writes.filter((w) => w.status === 200).length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const w of refused) {
      expect(w).toMatchObject({ status: 503, retryAfter: expect.stringMatching(/^\d+$/), body: { error: { code: 'DEPENDENCY_UNAVAILABLE' } } });
    }
    // Known users' answers and kept popularity lists need no Postgres.
    for (const s of readsDuringOutage) expect(s, s.what).toMatchObject({ status: 200 });
    // The one Postgres was needed for: a fallback counted as the outage's, not as an unknown customer.
    expect(notPrecomputed).toMatchObject({ status: 200, body: { fallback: true } });
    expect(await fallbacksOf('store-unavailable')).toBeGreaterThan(outageBefore);
    expect(await fallbacksOf('unknown-user')).toBe(unknownBefore);

    await pg.start();
    await until('ready after Postgres restart', ready, (h) => h.checks.database);
    // Clients retry what was refused; some also retry what succeeded (their answer was lost).
    for (const n of sent) {
      const retried = await until(`batch ${n} retried`, () => send(n), (s) => s.status === 200);
      expect(retried.body).toMatchObject({ accepted: 5 });
    }
    const { rows } = await createPgDbOnce(pg.url, (check) =>
      check.query<{ n: number; distinct_ids: number }>(
        "SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS distinct_ids FROM purchase_events WHERE event_id LIKE 'fault-b%'",
      ),
    );
    expect(rows[0]).toEqual({ n: sent.size * 5, distinct_ids: sent.size * 5 });
    // Everything landed: one more retry of any batch adds nothing.
    const again = await send([...sent][0]);
    expect(again.body).toMatchObject({ inserted: 0, duplicates: 5 });
  });

  it('When the server process (npm start) loses Postgres and Redis while batches arrive, Then it keeps running, refuses with 503, and takes the retries once both are back', async () => {
    // Its own database on the private cluster and its own Redis database: nothing shared with the app above.
    await createPgDbOnce(pg.url, (admin) => admin.exec('CREATE DATABASE process_test'));
    const port = await freePort();
    let output = '';
    const server = spawn(process.execPath, nodeArgs('src/server.ts'), {
      env: {
        ...process.env,
        DATABASE_URL: pg.url.replace(/\/postgres$/, '/process_test'),
        REDIS_URL: `${redis.url}/1`,
        PORT: String(port),
        API_KEYS: `write:${KEYS.write}`,
        SAMPLE_DATA: 'false',
        LOG_LEVEL: 'warn',
        UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '600000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (b) => (output += b));
    server.stderr!.on('data', (b) => (output += b));
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    let exitCode: number | null | undefined;
    void exited.then((code) => (exitCode = code));
    const at = (p: string) => `http://127.0.0.1:${port}${p}`;
    const post = (n: number) =>
      fetch(at('/v1/events'), {
        method: 'POST',
        headers: { ...auth('write'), 'content-type': 'application/json' },
        body: JSON.stringify({ events: [{ eventId: `proc-${n}`, userId: `u${n % 7}`, itemId: `i${n % 5}`, quantity: 1, ts: new Date(T0).toISOString() }] }),
        signal: AbortSignal.timeout(10_000),
      }).then((r) => r.status, () => 0);
    try {
      await until('server listening', () => fetch(at('/health/live')).then((r) => r.status, () => 0), (st) => st === 200, 180_000);
      const statuses: number[] = [];
      const sending = (async () => {
        for (let n = 0; n < 40; n++) statuses.push(...(await Promise.all([post(2 * n), post(2 * n + 1)])));
      })();
      await sleep(100);
      await Promise.all([pg.stop(), redis.kill()]);
      await sending;
      expect(exitCode, output).toBeUndefined();
      expect((await fetch(at('/health/live'))).status).toBe(200);
      expect((await fetch(at('/health/ready'))).status).toBe(503);
      expect(statuses.filter((st) => st !== 200 && st !== 503)).toEqual([]);
      expect(statuses).toContain(503);

      await Promise.all([pg.start(), redis.start()]);
      for (let n = 0; n < 80; n++) await until(`proc-${n} retried`, () => post(n), (st) => st === 200);
      const { rows } = await createPgDbOnce(pg.url.replace(/\/postgres$/, '/process_test'), (check) =>
        check.query<{ n: number }>("SELECT count(*)::int AS n FROM purchase_events WHERE event_id LIKE 'proc-%'"),
      );
      expect(rows[0].n).toBe(80);
      expect(exitCode, output).toBeUndefined();
    } finally {
      server.kill('SIGTERM');
      await exited;
    }
    // The limit is mostly the child's start (loading its modules, migrations): over 60 s beside four busy loops at load 15-19.
  }, 300_000);
});

/** A query on a connection of its own (not the app's pool), closed afterwards. */
async function createPgDbOnce<T>(url: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const own = createPgDb(url, { max: 1 });
  try {
    return await fn(own);
  } finally {
    await own.close();
  }
}
