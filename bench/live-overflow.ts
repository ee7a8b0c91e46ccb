/**
 * What a customer whose live list is full costs serving in Postgres (src/serving/recommend-for-user.ts): when
 * the model store's list of their purchases since training holds LIVE_EVENTS_KEPT and its oldest is after
 * their last purchase in training, each answer reads the items they bought since from Postgres
 * (event-repository itemsBoughtSince), so a large order's first lines are not offered back to them.
 *
 * On the full Online Retail data (imported once into schema bench_live_overflow, `--copies N` for a shop N
 * times larger): the 20 customers with the most purchase lines, each as if trained up to the middle of their
 * history, each asked 200 times. Prints the read's time (ms) and the rows it returns.
 *
 *   npx tsx bench/live-overflow.ts [--copies N] [--data FILE]
 */
import { cpus, loadavg } from 'node:os';
import { createPgDb } from '../src/data/db.js';
import { createEventRepository } from '../src/data/event-repository.js';
import { ensureOnlineRetailSchema } from './lib/bench-schema.js';
import { optionTaker } from './lib/online-retail.js';

const flag = optionTaker(process.argv.slice(2));
const copies = Number(flag('--copies') ?? 1);
const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = copies > 1 ? `bench_live_overflow_${copies}x` : 'bench_live_overflow';
await ensureOnlineRetailSchema(PG, SCHEMA, { copies });
const db = createPgDb(PG, { max: 2, schema: SCHEMA });
try {
  console.log(`# live-overflow: ${new Date().toISOString()}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}, ${copies}x Online Retail`);
  const events = createEventRepository(db);
  const { rows: heavy } = await db.query<{ user_id: string; lines: number; middle: Date }>(
    `SELECT user_id, count(*)::int AS lines, percentile_disc(0.5) WITHIN GROUP (ORDER BY ts) AS middle
     FROM purchase_events GROUP BY user_id ORDER BY count(*) DESC LIMIT 20`,
  );
  const times: number[] = [];
  let rows = 0;
  for (const h of heavy) {
    for (let r = 0; r < 200; r++) {
      const t0 = performance.now();
      const items = await events.itemsBoughtSince(h.user_id, h.middle);
      times.push(performance.now() - t0);
      rows += items.length;
    }
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2);
  const mean = times.reduce((s, x) => s + x, 0) / times.length;
  console.log(`customers: ${heavy.length}, purchase lines ${heavy.at(-1)!.lines}-${heavy[0].lines} each; reads: ${times.length}`);
  console.log(`items bought since the middle of their history: ${(rows / times.length).toFixed(0)} per read on average`);
  console.log(`read time ms: mean ${mean.toFixed(2)}, p50 ${at(0.5)}, p90 ${at(0.9)}, p99 ${at(0.99)}, max ${at(1)}`);
} finally {
  await db.close();
}
