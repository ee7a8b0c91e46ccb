/**
 * Online metrics (GET /v1/metrics/online, /daily, and the feedback-rate gauges a scrape refreshes) over a
 * year of feedback at the volume of a shop ten times Online Retail: each asks for the last N days only.
 *
 *   npx tsx bench/online-metrics.ts [--events 10000000] [--runs 3]
 *
 * Fills the Postgres schema `bench_online_metrics` (kept between runs with the same --events) with
 * synthetic feedback spread evenly over the last 365 days: 90% impressions, 8% clicks, 1.5% add-to-cart,
 * 0.5% purchases, four strategies, a fifth of it in an A/B experiment, nine tenths of it naming one of 24
 * model versions (a new one every half month; the rest no signed id); 43,340 customers, 36,590 products
 * (10x Online Retail's). Then times each read `runs` times through the app in process (the first one
 * apart: Postgres's caches cold after the fill) and prints the plan of the 30-day report's experiment arms.
 */
import { cpus, loadavg } from 'node:os';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createPgDb } from '../src/data/db.js';
import { migrate } from '../src/data/migrate.js';
import { ARM_CUSTOMERS_SQL } from '../src/serving/online-metrics.js';
import { createServices } from '../src/services.js';
import { createMemoryModelStore } from '../src/store/memory-model-store.js';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const events = Number(option('--events') ?? 10_000_000);
const runs = Number(option('--runs') ?? 3);
const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = 'bench_online_metrics';
const CUSTOMERS = 43_340;
const PRODUCTS = 36_590;

const admin = createPgDb(PG, { max: 1 });
await admin.exec(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
await admin.close();
const db = createPgDb(PG, { max: 10, schema: SCHEMA });
await migrate(db);
const stored = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM feedback_events')).rows[0].n;
// A fill from before feedback kept model versions (migration 023) has none: filled again.
const versioned = stored > 0 && (await db.query('SELECT 1 FROM feedback_events WHERE model_version IS NOT NULL LIMIT 1')).rows.length > 0;
if (stored !== events || !versioned) {
  console.log(`filling ${SCHEMA} with ${events} feedback events over 365 days...`);
  const t0 = performance.now();
  await db.exec('TRUNCATE feedback_events, users, items CASCADE');
  await db.exec(`INSERT INTO users (id) SELECT 'u' || g FROM generate_series(1, ${CUSTOMERS}) g`);
  await db.exec(`INSERT INTO items (id) SELECT 'i' || g FROM generate_series(1, ${PRODUCTS}) g`);
  // In chunks of a million, in time order (as live feedback arrives).
  for (let from = 0; from < events; from += 1_000_000) {
    const to = Math.min(events, from + 1_000_000);
    await db.exec(`
      INSERT INTO feedback_events (event_id, user_id, item_id, type, recommendation_id, strategy, ts, experiment_id, arm, model_version)
      SELECT 'f' || g, 'u' || (1 + (g * 7919) % ${CUSTOMERS}), 'i' || (1 + (g * 104729) % ${PRODUCTS}),
             CASE WHEN g % 1000 < 900 THEN 'impression' WHEN g % 1000 < 980 THEN 'click' WHEN g % 1000 < 995 THEN 'add_to_cart' ELSE 'purchase' END,
             'r' || (g / 10), (ARRAY['hybrid', 'popularity', 'similar', 'bought-together'])[1 + (g / 1000) % 4],
             now() - interval '365 days' * (1 - g::float8 / ${events}),
             CASE WHEN (g / 1000) % 5 = 0 THEN 'exp-1' END, CASE WHEN (g / 1000) % 5 = 0 THEN (ARRAY['a', 'b'])[1 + (g / 5000) % 2] END,
             CASE WHEN g % 10 <> 0 THEN 'v' || (g * 24 / ${events}) END
      FROM generate_series(${from}::bigint, ${to - 1}::bigint) g`);
  }
  await db.exec('ANALYZE feedback_events');
  console.log(`filled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

// Every run counts the closed days afresh (the first ask of each window shows what that costs).
const hasCounts = (await db.query("SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'feedback_daily_counts'", [SCHEMA])).rows.length > 0;
if (hasCounts) await db.exec('TRUNCATE feedback_daily_counts, feedback_counted_days');

// The app's own background count is off: it is timed here on its own, then the counts are emptied again.
const config = loadConfig({ LOG_LEVEL: 'silent', SAMPLE_DATA: 'false', AUTH_DISABLED: 'true', JOB_RUNNER: 'worker', UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0', ONLINE_METRICS_COUNT_MS: '0' });
const services = createServices({ config, db, store: await createMemoryModelStore({}) });
const app = await buildApp(services);
await app.ready();
try {
  for (const what of ['from none counted', 'again (all counted)']) {
    const t0 = performance.now();
    const days = await services.onlineMetrics.countClosedDays();
    console.log(`background count of the year's closed days, ${what}: ${days} days in ${(performance.now() - t0).toFixed(0)} ms`);
  }
  await db.exec('TRUNCATE feedback_daily_counts, feedback_counted_days');
  const reads: [string, () => Promise<unknown>][] = [
    ['online, last 30 days', () => app.inject({ url: '/v1/metrics/online?days=30' })],
    ['online, last 7 days', () => app.inject({ url: '/v1/metrics/online?days=7' })],
    ['online, last 90 days', () => app.inject({ url: '/v1/metrics/online?days=90' })],
    ['online, last 365 days', () => app.inject({ url: '/v1/metrics/online?days=365' })],
    ['daily, last 30 days', () => app.inject({ url: '/v1/metrics/online/daily?days=30' })],
    ['daily, last 365 days', () => app.inject({ url: '/v1/metrics/online/daily?days=365' })],
  ];
  console.log(`${events} feedback events over 365 days; ${runs} asks each, in-process\n`);
  console.log(`${'read'.padEnd(24)} ${'first'.padStart(9)} ${'median of the rest'.padStart(19)}`);
  for (const [what, read] of reads) {
    const times: number[] = [];
    const refused: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const res = (await read()) as { statusCode: number; body: string };
      times.push(performance.now() - t0);
      if (res.statusCode !== 200) refused.push(res.statusCode);
    }
    const rest = times.slice(1).sort((a, b) => a - b);
    const note = refused.length > 0 ? `  (${refused.length} of ${runs} answered ${[...new Set(refused)].join(', ')})` : '';
    console.log(`${what.padEnd(24)} ${`${times[0].toFixed(0)} ms`.padStart(9)} ${`${rest[Math.floor(rest.length / 2)].toFixed(0)} ms`.padStart(19)}${note}`);
  }
  // The report's costliest statement: its experiment arms, summed per customer from the window's events.
  const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${ARM_CUSTOMERS_SQL}`, [new Date(Date.now() - 30 * 86_400_000).toISOString()]);
  if (hasCounts) {
    const { rows } = await db.query<{ days: number; rows: number }>('SELECT count(DISTINCT day)::int AS days, count(*)::int AS rows FROM feedback_daily_counts');
    console.log(`\ndaily counts after the reads: ${rows[0].rows} rows over ${rows[0].days} days`);
  }
  console.log(`\nplan of the 30-day report's experiment arms:\n${plan.rows.map((r) => `  ${r['QUERY PLAN']}`).join('\n')}`);
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`);
} finally {
  await app.close();
  await services.store.close();
  await db.close();
}
