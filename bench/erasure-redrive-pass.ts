/**
 * What the erasure re-driver's pass costs (privacy/erasure-redriver.ts), which every API process makes every
 * ERASURE_REDRIVE_MS (30 s) whether anything is owed or not: one read of `erasure_requests` (how many are owed, how
 * many due). With nothing owed that is all; with erasures owed and none due (each taken by a process, or waiting out
 * its back-off) it is the same read over `--owed` rows; with some due it asks the model store's write check too (here: a
 * store that does not take writes, so none is taken, as during the outage that left them owed).
 *
 * On its own Postgres schema (dropped at the end); no model store is touched.
 *
 *   DATABASE_URL=postgres://... node --import tsx bench/erasure-redrive-pass.ts [--owed 10000] [--runs 300]
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { createErasureRepository } from '../src/data/erasure-repository.js';
import { withScratchSchema } from './lib/bench-schema.js';
import { loadAverage, quantile } from './lib/run-stats.js';
import { createErasureRedriver } from '../src/privacy/erasure-redriver.js';

const { values } = parseArgs({ options: { owed: { type: 'string', default: '10000' }, runs: { type: 'string', default: '300' } } });
const OWED = Number(values.owed);
const RUNS = Number(values.runs);
const pg = process.env.DATABASE_URL;
if (!pg) throw new Error('DATABASE_URL is needed');
const load = loadAverage;
const ms = (x: number) => x.toFixed(2);

await withScratchSchema(pg, 'bench_redrive', async (db) => {
  const requests = createErasureRepository(db);
  let erased = 0;
  let pinged = 0;
  const redriver = createErasureRedriver({
    requests,
    holder: () => 'bench:1',
    erase: async () => ((erased += 1), true),
    storeTakesWrites: async () => ((pinged += 1), false),
  });
  const timed = async (label: string) => {
    const xs: number[] = [];
    for (let k = 0; k < RUNS; k++) {
      const t0 = performance.now();
      await redriver.pass();
      xs.push(performance.now() - t0);
    }
    console.log(`${label}, ${RUNS} passes: median ${ms(quantile(xs, 0.5))} ms, p95 ${ms(quantile(xs, 0.95))} ms; at one every 30 s that is ${((quantile(xs, 0.5) / 30_000) * 100).toFixed(4)} % of the time`);
  };

  console.log(`# erasure-redrive-pass: ${new Date().toISOString()}, ${cpus().length} cores, load average ${load()}, Postgres`);
  await redriver.pass();
  await timed('nothing owed');
  const plan = (await db.query<{ 'QUERY PLAN': string }>("EXPLAIN SELECT count(*)::int AS pending, count(*) FILTER (WHERE next_at <= now())::int AS due FROM erasure_requests")).rows.map((r) => r['QUERY PLAN']);
  console.log(`its read: ${plan.join(' / ')}`);

  await db.query(`INSERT INTO erasure_requests (user_id, next_at) SELECT 'c' || g, now() + interval '1 hour' FROM generate_series(1, $1::int) g`, [OWED]);
  await db.query('ANALYZE erasure_requests');
  await timed(`${OWED} owed, none due`);
  await db.query(`UPDATE erasure_requests SET next_at = now() WHERE user_id = 'c1'`);
  pinged = 0;
  await timed(`${OWED} owed, one due, the model store not answering`);
  if (erased !== 0 || pinged !== RUNS) throw new Error(`expected no erasure and ${RUNS} pings, got ${erased} and ${pinged}`);
  console.log(`load average after: ${load()}`);
});
