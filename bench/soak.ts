/**
 * Soak test: the real service under mixed load for a while, with one Redis restart and one Postgres
 * restart in the middle; afterwards it checks that no event was lost or stored twice and that memory
 * did not grow.
 *
 *   npx tsx bench/soak.ts [--minutes 10] [--concurrency 4] [--think-ms 10] [--warmup-share 0.25] [--retrain]
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
 * Checks: ids sent = ids stored (0 lost, 0 doubled) for purchases and feedback; the server's RSS at
 * the end is within 10% of its RSS at the end of the warm-up (`--warmup-share` of the run).
 * Prints a table per route (statuses, latency) and the checks; exits 1 when a check fails.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** Resident memory of another process now (VmRSS), MiB. */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

// ---------------------------------------------------------------------------------------------------
// Tallies per route.

type Op = 'recommendations' | 'similar' | 'events' | 'feedback' | 'training';
interface Tally {
  requests: number;
  ok: number;
  unavailable: number; // 503
  limited: number; // 429
  clientErrors: number; // other 4xx
  serverErrors: number; // 5xx other than 503
  networkErrors: number;
  slowOver1s: number;
  ms: number[];
}
const tallies = new Map<Op, Tally>();
const tally = (op: Op): Tally => {
  let t = tallies.get(op);
  if (!t) tallies.set(op, (t = { requests: 0, ok: 0, unavailable: 0, limited: 0, clientErrors: 0, serverErrors: 0, networkErrors: 0, slowOver1s: 0, ms: [] }));
  return t;
};
const firstErrors: string[] = [];

/** One request, counted; the status (0 for a network error or timeout) and body. */
async function call(op: Op, base: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: string }> {
  const t = tally(op);
  t.requests++;
  const t0 = performance.now();
  try {
    const res = await fetch(base + path, {
      ...init,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      signal: AbortSignal.timeout(10_000),
    });
    const body = await res.text();
    const ms = performance.now() - t0;
    t.ms.push(ms);
    if (ms > 1000) t.slowOver1s++;
    if (res.status < 300) t.ok++;
    else if (res.status === 503) t.unavailable++;
    else if (res.status === 429) t.limited++;
    else if (res.status < 500) t.clientErrors++;
    else t.serverErrors++;
    if ((res.status >= 400 && res.status !== 503 && res.status !== 429) && firstErrors.length < 10) firstErrors.push(`${op} ${res.status} ${body.slice(0, 200)}`);
    return { status: res.status, body };
  } catch (err) {
    t.networkErrors++;
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
  });
  const db = createPgDb(pg.url, { max: 2 });
  try {
    const t0 = performance.now();
    await waitReady(`${base}/health/ready`, server, 300_000, 500);
    log(`service ready (sample imported and trained) in ${((performance.now() - t0) / 1000).toFixed(1)} s, pid ${server.pid}`);
    const users = (await db.query<{ user_id: string }>('SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY user_id LIMIT 3000')).rows.map((r) => r.user_id);
    const items = (await db.query<{ id: string }>('SELECT id FROM items ORDER BY id LIMIT 3000')).rows.map((r) => r.id);
    const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];

    const durationMs = MINUTES * 60_000;
    const start = Date.now();
    const end = start + durationMs;
    // Retries of a batch refused at the very end may go on this long after it.
    const retryDeadline = end + 60_000;
    const rss: { atS: number; mib: number }[] = [];
    const sampler = setInterval(() => rss.push({ atS: (Date.now() - start) / 1000, mib: rssMiB(server.pid!) }), 5000);

    const faults = (async () => {
      await sleep(Math.max(0, start + 0.4 * durationMs - Date.now()));
      log('Redis: SIGKILL');
      await redis.kill();
      await sleep(DOWN_MS);
      await redis.start();
      log('Redis: started again (empty)');
      if (RETRAIN) {
        const job = await call('training', base, '/v1/training-jobs', { method: 'POST', body: '{}' });
        log(`training job to publish a model again: HTTP ${job.status} ${job.body.slice(0, 120)}`);
      }
      await sleep(Math.max(0, start + 0.7 * durationMs - Date.now()));
      log('Postgres: stop -m immediate');
      await pg.stop();
      await sleep(DOWN_MS);
      await pg.start();
      log('Postgres: started again');
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
    await Promise.all([...Array.from({ length: CONCURRENCY }, client), faults, warmup]);
    clearInterval(progress);
    clearInterval(sampler);
    const finalRss = rssMiB(server.pid!);

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
    console.log(`\n## Soak: ${MINUTES} min, ${CONCURRENCY} clients (think ${THINK_MS} ms), Redis restart at 40%${RETRAIN ? ' (then a training)' : ''}, Postgres restart at 70%\n`);
    console.log('| route | requests | 2xx | 503 | 429 | other 4xx | other 5xx | network | > 1 s | p50 ms | p99 ms | max ms |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const [op, t] of tallies) {
      console.log(
        `| ${op} | ${t.requests} | ${t.ok} | ${t.unavailable} | ${t.limited} | ${t.clientErrors} | ${t.serverErrors} | ${t.networkErrors} | ${t.slowOver1s} | ${pct(t.ms, 0.5).toFixed(1)} | ${pct(t.ms, 0.99).toFixed(1)} | ${Math.max(...t.ms).toFixed(1)} |`,
      );
    }
    const total = [...tallies.values()].reduce((s, t) => s + t.requests, 0);
    console.log(`\n${total} requests in ${seconds.toFixed(0)} s (${(total / seconds).toFixed(0)}/s)`);
    console.log(`purchases: ${JSON.stringify({ ...purchases, ...reported.events })}`);
    console.log(`feedback:  ${JSON.stringify({ ...feedback, ...reported.feedback })}`);
    const growth = (finalRss - warmRss) / warmRss;
    const peakAfterWarmup = Math.max(...rss.filter((s) => s.atS >= WARMUP_SHARE * MINUTES * 60).map((s) => s.mib));
    console.log(`RSS: ${warmRss.toFixed(1)} MiB after warm-up, ${finalRss.toFixed(1)} MiB at the end (${(growth * 100).toFixed(1)}%), peak after warm-up ${peakAfterWarmup.toFixed(1)} MiB`);
    if (firstErrors.length) console.log(`first errors:\n  ${firstErrors.join('\n  ')}`);

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
    };
    console.log('');
    for (const [name, ok] of Object.entries(checks)) console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}`);
    process.exitCode = Object.values(checks).every(Boolean) ? 0 : 1;
  } finally {
    await db.close().catch(() => {});
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
