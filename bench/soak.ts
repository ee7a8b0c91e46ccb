/**
 * Soak test: the real service under mixed load for a while, with one Redis restart and one Postgres
 * restart in the middle; afterwards it checks that no event was lost or stored twice and that memory
 * did not grow.
 *
 *   npx tsx bench/soak.ts [--minutes 10] [--concurrency 4] [--think-ms 10] [--warmup-share 0.25] [--retrain]
 *                         [--fault kill|pg-freeze|redis-freeze|both-freeze] [--freeze-s 30]
 *
 * Starts its own Redis and Postgres on free loopback ports (tests/helpers/private-servers.ts: the
 * shared servers are never touched), then the service (src/server.ts, its own process, flags of
 * `npm start`) against them with the bundled sample (SAMPLE_DATA=true: imported and trained on first
 * start). `--concurrency` clients loop, each pausing `--think-ms` between requests, over a weighted mix:
 *   50% GET /v1/users/:id/recommendations   20% GET /v1/items/:id/similar
 *   15% POST /v1/events (1-5 purchases)      15% POST /v1/feedback (1-5 events)
 * Every event carries an eventId of this run; a batch refused with 503/429 or lost on the network is
 * retried with the same ids until it is accepted (as a storefront should), which the idempotent
 * ingestion must turn into exactly one stored row per id.
 * At 40% of the run Redis is killed (SIGKILL; it comes back empty 5 s later: the model in process memory
 * keeps serving; with --retrain a training job is then started so a model is published again); at 70%
 * Postgres is stopped (`-m immediate`) and started 5 s later.
 * That is `--fault kill` (the default). The other faults freeze instead of kill, once, at 40% of the run,
 * for `--freeze-s` seconds, then thaw (SIGCONT): `pg-freeze` stops the private Postgres' postmaster and
 * every backend with SIGSTOP (connections stay open, nothing answers: a paused VM, a partition that drops
 * packets, a stalled disk), `redis-freeze` the private Redis, `both-freeze` both at once. With `--retrain`
 * and a freeze, a training job is started 2 s before the freeze (it runs across it); with any fault,
 * `--retrain` also has three customers (taken out of the load's pool) erased 1 s into the fault
 * (DELETE /v1/users/:id, sent again after a 503 that does not say `recorded: true`, as a caller should).
 * The service runs with PG_QUERY_TIMEOUT_MS=10000 and REDIS_COMMAND_TIMEOUT_MS=2000 (the defaults), and
 * CORS_ORIGINS set: a browser's preflight (OPTIONS), a request with a wrong key (which the per-IP rate limit counts
 * in Redis), /health/live and /health/ready are sent every 500 ms through the run.
 * Checks: ids sent = ids stored (0 lost, 0 doubled) for purchases and feedback; the server's RSS at
 * the end is within 10% of its RSS at the end of the warm-up (`--warmup-share` of the run); no 5xx other
 * than 503 on any route; no request under way during a fault (from its start to 10 s after the restart or
 * thaw) waited longer than the bound its fault documents, counted from the later of its start and the fault's
 * (a statement's limit starts with the statement; a request slow elsewhere is the load's, the table's `> 1 s`) (README "When
 * Postgres or Redis is down"): kill 3 s (the pool's 2 s connect timeout + 1 s), pg-freeze 11 s
 * (PG_QUERY_TIMEOUT_MS + 1 s), redis-freeze 3 s (REDIS_COMMAND_TIMEOUT_MS + 1 s), both-freeze 13 s (both
 * + 1 s; the second is slack for a machine at load 10-30), erasures aside (their ask has PG_QUERY_TIMEOUT_MS, their
 * turn's statements the 5-minute limit: README "PG_QUERY_TIMEOUT_MS"; their times are printed); /health/ready answers 200 again after the
 * fault (the time is printed); with --retrain, every erasure asked during the fault completes after it
 * (in erased_users, none owed in erasure_requests, no purchase, feedback or user row, no live-events key or
 * per-user table entry in Redis, GET /v1/users/:id 404, recommendations `fallback: true`) and the training
 * job ends (succeeded or failed, not left running).
 * Prints a table per route (statuses, latency) and the checks; exits 1 when a check fails.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { createPgDb } from '../src/data/db.js';
import { freePort, privateServerSupport, startPrivatePostgres, startPrivateRedis } from '../tests/helpers/private-servers.js';
import { spawnServer, waitReady } from './lib/service-process.js';

const ADMIN_KEY = `soak-admin-${randomBytes(8).toString('hex')}`;
const RUN = randomBytes(4).toString('hex');
const DOWN_MS = 5000;
const RSS_GROWTH_LIMIT = 0.1;

const argv = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(argv[at + 1]) : fallback;
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
  return value;
};
const MINUTES = option('minutes', 10);
const CONCURRENCY = Math.max(1, Math.round(option('concurrency', 4)));
const THINK_MS = option('think-ms', 10);
const WARMUP_SHARE = option('warmup-share', 0.25);
/** Start a training job once Redis is back (empty), as an operator would; its worker thread's memory counts in the RSS. */
const RETRAIN = argv.includes('--retrain');
type Fault = 'kill' | 'pg-freeze' | 'redis-freeze' | 'both-freeze';
const FAULT = (() => {
  const at = argv.indexOf('--fault');
  const value = at >= 0 ? argv[at + 1] : 'kill';
  if (!['kill', 'pg-freeze', 'redis-freeze', 'both-freeze'].includes(value)) throw new Error('--fault is kill, pg-freeze, redis-freeze or both-freeze');
  return value as Fault;
})();
const FREEZE_MS = option('freeze-s', 30) * 1000;
const PG_QUERY_TIMEOUT_MS = 10_000;
const REDIS_COMMAND_TIMEOUT_MS = 2000;
const PG_CONNECT_TIMEOUT_MS = 2000;
/** Slack on every bound: a machine at load 10-30. */
const SLACK_MS = 1000;
/** The longest a request may take under this fault, as README "When Postgres or Redis is down" documents it. */
const BOUND_MS =
  SLACK_MS +
  (FAULT === 'kill'
    ? Math.max(PG_CONNECT_TIMEOUT_MS, REDIS_COMMAND_TIMEOUT_MS)
    : (FAULT === 'redis-freeze' ? 0 : PG_QUERY_TIMEOUT_MS) + (FAULT === 'pg-freeze' ? 0 : REDIS_COMMAND_TIMEOUT_MS));
const ERASURES = RETRAIN ? 3 : 0;
const ORIGIN = 'https://shop.example';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** Resident memory of another process now (VmRSS), MiB. */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

// ---------------------------------------------------------------------------------------------------
// Tallies per route.

type Op = 'recommendations' | 'similar' | 'events' | 'feedback' | 'training' | 'erasure' | 'preflight' | 'bad key' | 'live' | 'ready';
interface Tally {
  requests: number;
  ok: number;
  unavailable: number; // 503
  limited: number; // 429
  clientErrors: number; // other 4xx
  serverErrors: number; // 5xx other than 503
  networkErrors: number;
  slowOver1s: number;
  overBound: number;
  ms: number[];
}
const tallies = new Map<Op, Tally>();
const tally = (op: Op): Tally => {
  let t = tallies.get(op);
  if (!t) tallies.set(op, (t = { requests: 0, ok: 0, unavailable: 0, limited: 0, clientErrors: 0, serverErrors: 0, networkErrors: 0, slowOver1s: 0, overBound: 0, ms: [] }));
  return t;
};
const firstErrors: string[] = [];
/** The first 503s of each route: when (s from the run's start), the path and the body's code and message. */
const first503s = new Map<Op, string[]>();
/**
 * Requests that waited longer than BOUND_MS: what, when (s from the run's start), how long in all and how long from
 * the later of their start and the fault's (a request under way when the fault began had done part of its work before).
 */
const overBound: { op: Op; path: string; atS: number; ms: number; waitedMs: number; status: number }[] = [];
let runStart = Date.now();
/** When the latest fault began (Date.now()). */
let faultBeganAt = Number.POSITIVE_INFINITY;
/** The faults' windows (Date.now()): from the kill or freeze to 10 s after the restart or thaw (`to` unset meanwhile). */
const faultWindows: { from: number; to: number }[] = [];
const faultBegins = () => {
  faultBeganAt = Date.now();
  faultWindows.push({ from: faultBeganAt, to: Number.POSITIVE_INFINITY });
};
const faultEnds = () => {
  faultWindows[faultWindows.length - 1].to = Date.now() + 10_000;
};
/**
 * How long a request that began at `t0` (Date.now()) and ends now has waited since the later of its start and the fault's;
 * 0 for one that met no fault (its time is the load's: the table's `> 1 s`).
 */
const waitedSince = (t0: number) => {
  const now = Date.now();
  if (!faultWindows.some((w) => t0 < w.to && now > w.from)) return 0;
  return now - (t0 < faultBeganAt && now > faultBeganAt ? faultBeganAt : t0);
};

/** One request, counted; the status (0 for a network error or timeout) and body. */
async function call(op: Op, base: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: string; headers?: Headers }> {
  const t = tally(op);
  t.requests++;
  const t0 = performance.now();
  const atS = (Date.now() - runStart) / 1000;
  const began = Date.now();
  try {
    const res = await fetch(base + path, {
      ...init,
      headers: (init.headers as Record<string, string> | undefined) ?? { authorization: `Bearer ${ADMIN_KEY}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      // Far above every bound, so that a request over its bound is measured, not cut off.
      signal: AbortSignal.timeout(60_000),
    });
    const body = await res.text();
    const ms = performance.now() - t0;
    t.ms.push(ms);
    if (ms > 1000) t.slowOver1s++;
    const waitedMs = waitedSince(began);
    if (waitedMs > BOUND_MS && op !== 'erasure') {
      t.overBound++;
      overBound.push({ op, path, atS, ms, waitedMs, status: res.status });
    }
    if (res.status < 300) t.ok++;
    else if (res.status === 503) {
      t.unavailable++;
      const seen = first503s.get(op) ?? [];
      if (seen.length < 3) first503s.set(op, [...seen, `${atS.toFixed(1)} s ${path.slice(0, 50)}: ${body.slice(0, 160)}`]);
    }
    else if (res.status === 429) t.limited++;
    else if (res.status < 500) t.clientErrors++;
    else t.serverErrors++;
    if ((res.status >= 400 && res.status !== 503 && res.status !== 429) && op !== 'bad key' && op !== 'ready' && firstErrors.length < 10) firstErrors.push(`${op} ${res.status} ${body.slice(0, 200)}`);
    return { status: res.status, body, headers: res.headers };
  } catch (err) {
    t.networkErrors++;
    const ms = performance.now() - t0;
    const waitedMs = waitedSince(began);
    if (waitedMs > BOUND_MS && op !== 'erasure') {
      t.overBound++;
      overBound.push({ op, path, atS, ms, waitedMs, status: 0 });
    }
    if (firstErrors.length < 10) firstErrors.push(`${op} network: ${(err as Error).message}`);
    return { status: 0, body: '' };
  }
}

// ---------------------------------------------------------------------------------------------------
// Events: every id sent is remembered, with what the service said it did with it.

const sent = { events: new Set<string>(), feedback: new Set<string>() };
const reported = { events: { inserted: 0, duplicates: 0, abandoned: 0 }, feedback: { inserted: 0, duplicates: 0, abandoned: 0 } };
let seq = 0;

/** Posts a batch until it is accepted (503, 429 and network errors are retried with the same ids). */
async function ingest(kind: 'events' | 'feedback', base: string, events: { eventId: string }[], deadline: number): Promise<void> {
  for (const e of events) sent[kind].add(e.eventId);
  for (;;) {
    const { status, body } = await call(kind, base, `/v1/${kind}`, { method: 'POST', body: JSON.stringify({ events }) });
    if (status === 200) {
      const r = JSON.parse(body) as { inserted: number; duplicates: number };
      reported[kind].inserted += r.inserted;
      reported[kind].duplicates += r.duplicates;
      return;
    }
    if ((status !== 0 && status !== 503 && status !== 429) || Date.now() > deadline) {
      reported[kind].abandoned += events.length;
      return;
    }
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  const support = await privateServerSupport();
  if (!support.redis || !support.postgres) throw new Error(`cannot start private servers: missing ${support.missing.join(', ')}`);
  log(`run ${RUN}: ${MINUTES} min, ${CONCURRENCY} clients, think ${THINK_MS} ms; starting private Redis and Postgres`);
  const [redis, pg] = await Promise.all([startPrivateRedis(), startPrivatePostgres()]);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawnServer(port, {
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    API_KEYS: `admin:${ADMIN_KEY}`,
    LOG_LEVEL: 'warn',
    SAMPLE_DATA: 'true',
    PG_QUERY_TIMEOUT_MS: String(PG_QUERY_TIMEOUT_MS),
    REDIS_COMMAND_TIMEOUT_MS: String(REDIS_COMMAND_TIMEOUT_MS),
    CORS_ORIGINS: ORIGIN,
  });
  const direct = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const db = createPgDb(pg.url, { max: 2 });
  try {
    const t0 = performance.now();
    await waitReady(`${base}/health/ready`, server, 300_000, 500);
    log(`service ready (sample imported and trained) in ${((performance.now() - t0) / 1000).toFixed(1)} s, pid ${server.pid}`);
    const users = (await db.query<{ user_id: string }>('SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY user_id LIMIT 3000')).rows.map((r) => r.user_id);
    // The customers to erase: out of the load's pool (an event for an erased id makes a new customer of it).
    const erased = users.splice(0, ERASURES);
    const items = (await db.query<{ id: string }>('SELECT id FROM items ORDER BY id LIMIT 3000')).rows.map((r) => r.id);
    const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];

    const durationMs = MINUTES * 60_000;
    const start = Date.now();
    const end = start + durationMs;
    // Retries of a batch refused at the very end may go on this long after it.
    const retryDeadline = end + 60_000;
    const rss: { atS: number; mib: number }[] = [];
    const sampler = setInterval(() => rss.push({ atS: (Date.now() - start) / 1000, mib: rssMiB(server.pid!) }), 5000);

    runStart = start;
    const sinceStart = () => (Date.now() - start) / 1000;
    const faultAt = start + 0.4 * durationMs;
    /** When the service's readiness answered 200 again, seconds after each thaw or restart. */
    const readyAgain: { after: string; s: number | null }[] = [];
    const readyWatch = async (after: string) => {
      const from = Date.now();
      for (;;) {
        try {
          if ((await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(30_000) })).ok) break;
        } catch {
          // not yet
        }
        if (Date.now() - from > 300_000) {
          readyAgain.push({ after, s: null });
          return;
        }
        await sleep(250);
      }
      readyAgain.push({ after, s: (Date.now() - from) / 1000 });
      log(`ready again ${((Date.now() - from) / 1000).toFixed(1)} s after ${after}`);
    };
    const readyWatches: Promise<void>[] = [];

    // Erasures asked during the fault, as a caller should: again after a 503 that was not recorded.
    const erasures = erased.map((user) => ({ user, statuses: [] as number[], outcome: 'not asked' as string, answeredS: Number.NaN, doneS: Number.NaN }));
    const askErasures = () =>
      Promise.all(
        erasures.map(async (e) => {
          for (;;) {
            const r = await call('erasure', base, `/v1/users/${encodeURIComponent(e.user)}`, { method: 'DELETE' });
            e.statuses.push(r.status);
            e.answeredS = sinceStart();
            if (r.status === 204) e.outcome = 'erased by the request';
            else if ((r.status === 503 || r.status === 500) && r.body.includes('"recorded":true')) e.outcome = 'recorded (the service completes it)';
            else if (r.status !== 0 && r.status !== 503) e.outcome = `refused ${r.status}`;
            else if (Date.now() > retryDeadline) e.outcome = 'given up';
            else {
              await sleep(1000);
              continue;
            }
            log(`erasure of ${e.user}: ${e.outcome} (HTTP ${e.statuses.join(', ')})`);
            return;
          }
        }),
      );
    /** Polls Postgres until every erasure is in erased_users and none is owed; `doneS` is seconds after `from`. */
    const erasuresDone = async (from: number) => {
      while (erasures.some((e) => Number.isNaN(e.doneS)) && Date.now() - from < 300_000) {
        try {
          const { rows } = await db.query<{ user_id: string }>(
            'SELECT user_id FROM erased_users WHERE user_id = ANY($1) AND user_id NOT IN (SELECT user_id FROM erasure_requests)',
            [erasures.map((e) => e.user)],
          );
          for (const e of erasures) if (Number.isNaN(e.doneS) && rows.some((r) => r.user_id === e.user)) e.doneS = (Date.now() - from) / 1000;
        } catch {
          // Postgres not back yet
        }
        await sleep(500);
      }
    };
    let erasureWatch: Promise<void> = Promise.resolve();
    let erasureAsk: Promise<unknown> = Promise.resolve();

    // A training job across the fault: its id, and how it ended.
    let jobId: string | null = null;
    const job = { status: 'none', endedS: Number.NaN, error: '' };
    const startTraining = async () => {
      const r = await call('training', base, '/v1/training-jobs', { method: 'POST', body: '{}' });
      log(`training job: HTTP ${r.status} ${r.body.slice(0, 120)}`);
      if (r.status === 202) {
        jobId = (JSON.parse(r.body) as { jobId: string }).jobId;
        jobWatching = jobWatch();
      }
    };
    const jobWatch = async () => {
      while (jobId && Date.now() < end + 600_000) {
        const r = await call('training', base, `/v1/training-jobs/${jobId}`);
        if (r.status === 200) {
          const j = JSON.parse(r.body) as { status: string; error?: unknown };
          job.status = j.status;
          if (j.status === 'succeeded' || j.status === 'failed') {
            job.endedS = sinceStart();
            job.error = j.error ? JSON.stringify(j.error).slice(0, 200) : '';
            log(`training job ${jobId}: ${j.status} at ${job.endedS.toFixed(0)} s ${job.error}`);
            return;
          }
        }
        await sleep(2000);
      }
    };
    let thawedAt = Number.NaN;
    /** Polls the job from its start, so that its end is timed when it comes (not when the load is over). */
    let jobWatching: Promise<void> = Promise.resolve();

    const faults = (async () => {
      if (FAULT === 'kill') {
        await sleep(Math.max(0, faultAt - Date.now()));
        log('Redis: SIGKILL');
        faultBegins();
        await redis.kill();
        if (ERASURES) {
          await sleep(1000);
          erasureAsk = askErasures();
          await sleep(DOWN_MS - 1000);
        } else await sleep(DOWN_MS);
        await redis.start();
        faultEnds();
        log('Redis: started again (empty)');
        thawedAt = Date.now();
        readyWatches.push(readyWatch('the Redis restart'));
        erasureWatch = erasuresDone(thawedAt);
        if (RETRAIN) await startTraining();
        await sleep(Math.max(0, start + 0.7 * durationMs - Date.now()));
        log('Postgres: stop -m immediate');
        faultBegins();
        await pg.stop();
        await sleep(DOWN_MS);
        await pg.start();
        faultEnds();
        log('Postgres: started again');
        readyWatches.push(readyWatch('the Postgres restart'));
        return;
      }
      if (RETRAIN) {
        await sleep(Math.max(0, faultAt - 2000 - Date.now()));
        await startTraining();
      }
      await sleep(Math.max(0, faultAt - Date.now()));
      log(`${FAULT}: SIGSTOP for ${FREEZE_MS / 1000} s`);
      faultBegins();
      if (FAULT !== 'redis-freeze') await pg.freeze();
      if (FAULT !== 'pg-freeze') redis.freeze();
      if (ERASURES) {
        await sleep(1000);
        erasureAsk = askErasures();
        await sleep(FREEZE_MS - 1000);
      } else await sleep(FREEZE_MS);
      if (FAULT !== 'redis-freeze') await pg.thaw();
      if (FAULT !== 'pg-freeze') redis.thaw();
      thawedAt = Date.now();
      faultEnds();
      log(`${FAULT}: SIGCONT`);
      readyWatches.push(readyWatch('the thaw'));
      erasureWatch = erasuresDone(thawedAt);
    })();

    // A browser's CORS preflight every 500 ms through the run (no key: a preflight carries none), and a request with
    // a wrong key (401), which the per-IP limit counts in Redis (RATE_LIMIT_PER_IP_PER_MINUTE, 600: 120 a minute here).
    const preflights = (async () => {
      while (Date.now() < end) {
        await call('preflight', base, `/v1/users/${encodeURIComponent(pick(users))}/recommendations`, {
          method: 'OPTIONS',
          headers: { origin: ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
        });
        await call('bad key', base, '/v1/popular?k=5', { headers: { authorization: 'Bearer not-a-key' } });
        // An orchestrator's probes: liveness must stay 200 (a frozen store is no reason to restart the process),
        // readiness may say 503 during the fault, within the bound like any request.
        await call('live', base, '/health/live', { headers: {} });
        await call('ready', base, '/health/ready', { headers: {} });
        await sleep(500);
      }
    })();

    const client = async () => {
      while (Date.now() < end) {
        const r = Math.random();
        if (r < 0.5) {
          await call('recommendations', base, `/v1/users/${encodeURIComponent(pick(users))}/recommendations?k=10`);
        } else if (r < 0.7) {
          await call('similar', base, `/v1/items/${encodeURIComponent(pick(items))}/similar?k=10`);
        } else if (r < 0.85) {
          const n = 1 + Math.floor(Math.random() * 5);
          const order = `soak-${RUN}-o${seq++}`;
          const user = pick(users);
          const events = Array.from({ length: n }, () => ({
            eventId: `soak-${RUN}-p${seq++}`, userId: user, itemId: pick(items), quantity: 1, price: 2.5, orderId: order, ts: new Date().toISOString(),
          }));
          await ingest('events', base, events, retryDeadline);
        } else {
          const n = 1 + Math.floor(Math.random() * 5);
          const events = Array.from({ length: n }, () => ({
            eventId: `soak-${RUN}-f${seq++}`, userId: pick(users), itemId: pick(items), type: pick(['impression', 'impression', 'click', 'add_to_cart', 'purchase']),
            strategy: 'hybrid', ts: new Date().toISOString(),
          }));
          await ingest('feedback', base, events, retryDeadline);
        }
        if (THINK_MS > 0) await sleep(THINK_MS);
      }
    };
    const warmupAt = start + WARMUP_SHARE * durationMs;
    let warmRss = Number.NaN;
    const warmup = (async () => {
      await sleep(Math.max(0, warmupAt - Date.now()));
      warmRss = rssMiB(server.pid!);
      log(`warm-up over: RSS ${warmRss.toFixed(1)} MiB`);
    })();
    const progress = setInterval(() => {
      const done = [...tallies.values()].reduce((s, t) => s + t.requests, 0);
      log(`${((Date.now() - start) / 1000).toFixed(0)} s: ${done} requests, RSS ${rssMiB(server.pid!).toFixed(1)} MiB`);
    }, 30_000);
    await Promise.all([...Array.from({ length: CONCURRENCY }, client), faults, warmup, preflights]);
    clearInterval(progress);
    clearInterval(sampler);
    const finalRss = rssMiB(server.pid!);
    await Promise.all([...readyWatches, erasureAsk]);
    await erasureWatch;
    await jobWatching;

    // What Postgres holds of this run's ids.
    const stored = async (table: string, ids: Set<string>) => {
      const { rows } = await db.query<{ event_id: string }>(`SELECT event_id FROM ${table} WHERE event_id LIKE $1`, [`soak-${RUN}-%`]);
      const have = new Set(rows.map((r) => r.event_id));
      let lost = 0;
      for (const id of ids) if (!have.has(id)) lost++;
      let unknown = 0;
      for (const id of have) if (!ids.has(id)) unknown++;
      return { sent: ids.size, storedRows: rows.length, lost, doubled: rows.length - have.size, unknown };
    };
    const purchases = await stored('purchase_events', sent.events);
    const feedback = await stored('feedback_events', sent.feedback);

    const seconds = (Date.now() - start) / 1000;
    const pct = (xs: number[], q: number) => {
      const s = xs.slice().sort((a, b) => a - b);
      return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : Number.NaN;
    };
    const faultTitle =
      FAULT === 'kill'
        ? `Redis restart at 40%${RETRAIN ? ' (then a training)' : ''}, Postgres restart at 70%`
        : `${FAULT} ${FREEZE_MS / 1000} s at 40%${RETRAIN ? ' (a training and erasures across it)' : ''}`;
    console.log(`\n## Soak: ${MINUTES} min, ${CONCURRENCY} clients (think ${THINK_MS} ms), ${faultTitle}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
    console.log(`| route | requests | 2xx | 503 | 429 | other 4xx | other 5xx | network | > 1 s | > ${BOUND_MS / 1000} s | p50 ms | p99 ms | max ms |`);
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const [op, t] of tallies) {
      console.log(
        `| ${op} | ${t.requests} | ${t.ok} | ${t.unavailable} | ${t.limited} | ${t.clientErrors} | ${t.serverErrors} | ${t.networkErrors} | ${t.slowOver1s} | ${t.overBound} | ${pct(t.ms, 0.5).toFixed(1)} | ${pct(t.ms, 0.99).toFixed(1)} | ${Math.max(...t.ms).toFixed(1)} |`,
      );
    }
    const total = [...tallies.values()].reduce((s, t) => s + t.requests, 0);
    console.log(`\n${total} requests in ${seconds.toFixed(0)} s (${(total / seconds).toFixed(0)}/s)`);
    console.log(`purchases: ${JSON.stringify({ ...purchases, ...reported.events })}`);
    console.log(`feedback:  ${JSON.stringify({ ...feedback, ...reported.feedback })}`);
    const growth = (finalRss - warmRss) / warmRss;
    const peakAfterWarmup = Math.max(...rss.filter((s) => s.atS >= WARMUP_SHARE * MINUTES * 60).map((s) => s.mib));
    console.log(`RSS: ${warmRss.toFixed(1)} MiB after warm-up, ${finalRss.toFixed(1)} MiB at the end (${(growth * 100).toFixed(1)}%), peak after warm-up ${peakAfterWarmup.toFixed(1)} MiB`);
    console.log(`fault: ${FAULT}${FAULT === 'kill' ? '' : ` for ${FREEZE_MS / 1000} s at ${((faultAt - start) / 1000).toFixed(0)} s`}; bound on a request ${BOUND_MS / 1000} s; over it: ${overBound.length}`);
    for (const o of overBound.slice(0, 20)) console.log(`  ${o.op} ${o.path.slice(0, 60)} at ${o.atS.toFixed(1)} s took ${(o.ms / 1000).toFixed(1)} s (${(o.waitedMs / 1000).toFixed(1)} s from the fault or its start), HTTP ${o.status}`);
    for (const r of readyAgain) console.log(`ready again after ${r.after}: ${r.s === null ? 'NOT within 300 s' : `${r.s.toFixed(1)} s`}`);
    if (jobId) console.log(`training job across the fault: ${job.status}${Number.isNaN(job.endedS) ? '' : ` at ${job.endedS.toFixed(0)} s`} ${job.error}`);
    // What is left of each erased customer.
    const leftOf = async (user: string) => {
      const count = async (sql: string) => Number((await db.query<{ n: string }>(sql, [user])).rows[0].n);
      const pgRows =
        (await count('SELECT count(*) AS n FROM purchase_events WHERE user_id = $1')) +
        (await count('SELECT count(*) AS n FROM feedback_events WHERE user_id = $1')) +
        (await count('SELECT count(*) AS n FROM users WHERE id = $1'));
      const liveKeys = (await direct.keys(`*user:${user}:events`)).length;
      let tableEntries = 0;
      for (const key of await direct.keys('*}:table:*')) if ((await direct.type(key)) === 'hash' && (await direct.hexists(key, user))) tableEntries++;
      const record = await call('erasure', base, `/v1/users/${encodeURIComponent(user)}`);
      const recs = await call('recommendations', base, `/v1/users/${encodeURIComponent(user)}/recommendations?k=10`);
      const fallback = recs.status === 200 && (JSON.parse(recs.body) as { fallback: boolean }).fallback === true;
      return { pgRows, liveKeys, tableEntries, record: record.status, fallback };
    };
    const left: Record<string, Awaited<ReturnType<typeof leftOf>>> = {};
    if (erasures.length) await direct.connect();
    for (const e of erasures) {
      left[e.user] = await leftOf(e.user);
      console.log(`erasure of ${e.user}: asked at ${((faultAt - start) / 1000 + 1).toFixed(0)} s, ${e.outcome} (HTTP ${e.statuses.join(', ')}); completed ${Number.isNaN(e.doneS) ? 'NOT within 300 s' : `${e.doneS.toFixed(1)} s`} after the ${FAULT === 'kill' ? 'Redis restart' : 'thaw'}; left: ${JSON.stringify(left[e.user])}`);
    }
    if (firstErrors.length) console.log(`first errors:\n  ${firstErrors.join('\n  ')}`);
    for (const [op, seen] of first503s) console.log(`first 503s of ${op}:\n  ${seen.join('\n  ')}`);

    const checks = {
      // Every id sent is stored (batches refused for good would count as abandoned).
      'no purchase lost': purchases.lost === 0 && reported.events.abandoned === 0,
      // One row per id, none that was not sent. (A batch whose response was lost in an outage is stored
      // once and its retry reports duplicates, so `inserted` may be below `sent`; rows never exceed it.)
      'no purchase doubled': purchases.doubled === 0 && purchases.unknown === 0 && purchases.storedRows === purchases.sent - purchases.lost,
      'no feedback lost': feedback.lost === 0 && reported.feedback.abandoned === 0,
      'no feedback doubled': feedback.doubled === 0 && feedback.unknown === 0 && feedback.storedRows === feedback.sent - feedback.lost,
      'no 5xx other than 503': [...tallies.values()].every((t) => t.serverErrors === 0),
      [`RSS growth after warm-up < ${RSS_GROWTH_LIMIT * 100}%`]: growth < RSS_GROWTH_LIMIT,
      'service alive at the end': server.exitCode === null,
      'liveness always 200': tally('live').ok === tally('live').requests,
      [`no request waited over ${BOUND_MS / 1000} s`]: overBound.length === 0,
      'ready again after the fault': readyAgain.length > 0 && readyAgain.every((r) => r.s !== null),
      ...(jobId ? { 'the training job ended': job.status === 'succeeded' || job.status === 'failed' } : {}),
      ...(erasures.length
        ? {
            'every erasure completed': erasures.every((e) => !Number.isNaN(e.doneS)),
            'nothing of the erased customers left or served': Object.values(left).every(
              (l) => l.pgRows === 0 && l.liveKeys === 0 && l.tableEntries === 0 && l.record === 404 && l.fallback,
            ),
          }
        : {}),
    };
    console.log('');
    for (const [name, ok] of Object.entries(checks)) console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}`);
    process.exitCode = Object.values(checks).every(Boolean) ? 0 : 1;
  } finally {
    await db.close().catch(() => {});
    direct.disconnect();
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    await Promise.all([redis.dispose(), pg.dispose()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
