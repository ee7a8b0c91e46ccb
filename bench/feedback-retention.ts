/**
 * Feedback retention (src/data/feedback-retention.ts): how long the sweep takes to delete N expired
 * feedback events, how long each batch statement and each customer-row delete (which holds the lock every
 * ingestion waits for) takes, and what one-event feedback writes sent all along wait meanwhile.
 *
 *   npx tsx bench/feedback-retention.ts [--events 1000000] [--customers 100000]
 *
 * Fills the Postgres schema `bench_feedback_retention` afresh: `events` feedback events dated 500 to 401
 * days back, by `customers` customers named by that feedback alone (so each row goes with its last event),
 * and 100,000 recent events that stay. Then runs one sweep with FEEDBACK_RETENTION_DAYS=400.
 */
import { cpus, loadavg } from 'node:os';
import { createPgDb, type Db } from '../src/data/db.js';
import { createEventRepository } from '../src/data/event-repository.js';
import { deleteFeedbackBefore, retentionCutoff } from '../src/data/feedback-retention.js';
import { migrate } from '../src/data/migrate.js';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const events = Number(option('--events') ?? 1_000_000);
const customers = Number(option('--customers') ?? 100_000);
const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = 'bench_feedback_retention';
const KEPT = 100_000;

const admin = createPgDb(PG, { max: 1 });
await admin.exec(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);
await admin.close();
const db = createPgDb(PG, { max: 10, schema: SCHEMA });
await migrate(db);
console.log(`filling ${SCHEMA}: ${events} expired feedback events of ${customers} customers, ${KEPT} recent ones...`);
let t0 = performance.now();
await db.exec(`INSERT INTO items (id) SELECT 'i' || g FROM generate_series(1, 5000) g`);
// Rows feedback made, as POST /v1/feedback marks them (migration 015): the sweep deletes only those.
await db.exec(`INSERT INTO users (id, made_by_feedback) SELECT 'u' || g, true FROM generate_series(0, ${customers - 1}) g`);
await db.exec(`INSERT INTO users (id, made_by_feedback) SELECT 'k' || g, true FROM generate_series(0, 9999) g`);
for (let from = 0; from < events; from += 1_000_000) {
  const to = Math.min(events, from + 1_000_000);
  await db.exec(`
    INSERT INTO feedback_events (event_id, user_id, item_id, type, recommendation_id, strategy, ts)
    SELECT 'f' || g, 'u' || (g % ${customers}), 'i' || (1 + g % 5000), CASE WHEN g % 10 = 0 THEN 'click' ELSE 'impression' END,
           'r' || (g / 10), 'hybrid', now() - interval '401 days' - interval '99 days' * (1 - g::float8 / ${events})
    FROM generate_series(${from}::bigint, ${to - 1}::bigint) g`);
}
await db.exec(`
  INSERT INTO feedback_events (event_id, user_id, item_id, type, strategy, ts)
  SELECT 'n' || g, 'k' || (g % 10000), 'i' || (1 + g % 5000), 'impression', 'hybrid', now() - interval '300 days' * random()
  FROM generate_series(1, ${KEPT}) g`);
await db.exec('ANALYZE');
console.log(`filled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

/**
 * The db with each feedback batch (its statement and its days' recount marks, one transaction) and each
 * customer-row delete (a transaction taking the lock ingestion waits for) timed.
 */
function timed(inner: Db, batches: number[], userDeletes: number[]): Db {
  return {
    ...inner,
    kind: inner.kind,
    async transaction(fn) {
      let batch = false;
      const start = performance.now();
      const result = await inner.transaction((tx) =>
        fn({
          ...tx,
          query: (sql, params) => {
            if (sql.includes('DELETE FROM feedback_events')) batch = true;
            return tx.query(sql, params);
          },
        } as Db),
      );
      (batch ? batches : userDeletes).push(performance.now() - start);
      return result;
    },
  } as Db;
}

// A storefront's feedback all along: one event per write, one after another, timed.
const writes: number[] = [];
let sweeping = true;
const repo = createEventRepository(db);
const writer = (async () => {
  for (let k = 0; sweeping; k++) {
    const start = performance.now();
    await repo.insertFeedback([{ userId: `w${k % 1000}`, itemId: 'i1', type: 'impression', ts: new Date() }]);
    writes.push(performance.now() - start);
  }
})();

const batches: number[] = [];
const transactions: number[] = [];
t0 = performance.now();
const result = await deleteFeedbackBefore(timed(db, batches, transactions), retentionCutoff(new Date(), 400));
const total = performance.now() - t0;
sweeping = false;
await writer;
// The last transaction is the rollup's (forgetDaysBefore); the others are the customer rows' deletes.
const userDeletes = transactions.slice(0, -1);

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;
const ms = (x: number) => `${x.toFixed(1)} ms`;
console.log(`machine: ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`deleted ${result.feedback} feedback events and ${result.users} customer rows (${result.days} days' counts) in ${(total / 1000).toFixed(1)} s`);
console.log(`feedback batches: ${batches.length}, median ${ms(pct(batches, 50))}, p95 ${ms(pct(batches, 95))}, max ${ms(Math.max(...batches))}`);
console.log(`customer-row deletes (ingestion waits for them): ${userDeletes.length}, median ${ms(pct(userDeletes, 50))}, p95 ${ms(pct(userDeletes, 95))}, max ${ms(Math.max(...userDeletes))}`);
console.log(`one-event feedback writes meanwhile: ${writes.length}, median ${ms(pct(writes, 50))}, p99 ${ms(pct(writes, 99))}, max ${ms(Math.max(...writes))}`);
const left = (await db.query<{ n: number; users: number }>('SELECT (SELECT count(*)::int FROM feedback_events) AS n, (SELECT count(*)::int FROM users) AS users')).rows[0];
console.log(`left: ${left.n} feedback events, ${left.users} customer rows`);
await db.close();
