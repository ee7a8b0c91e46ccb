/**
 * What the heartbeat on erasures owed costs (privacy/erasure-leases.ts): while a process holds erasures (a DELETE's,
 * queued or in its turn, or ones its re-driver took), one statement every quarter of ERASURE_LEASE_MS (15 s by
 * default) moves the lease of those it holds (migration 039's holder) ahead (erasure-repository renewErasures). A
 * process that holds erasures for less than that quarter at a stretch (an erasure takes about 1 s on Online Retail)
 * renews nothing: the first beat comes a quarter of the lease after a hold made while none was held. Measured:
 * the statement over `--held` ids among `--owed` rows owed, and the hold and release of an id in the process (the
 * only work the erasure path itself gains).
 *
 * On its own Postgres schema (dropped at the end); no model store is touched.
 *
 *   DATABASE_URL=postgres://... node --import tsx bench/erasure-lease-renewal.ts [--owed 10000] [--runs 200]
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { createErasureRepository } from '../src/data/erasure-repository.js';
import { createErasureLeases } from '../src/privacy/erasure-leases.js';
import { withScratchSchema } from './lib/bench-schema.js';
import { loadAverage, quantile } from './lib/run-stats.js';

const { values } = parseArgs({ options: { owed: { type: 'string', default: '10000' }, runs: { type: 'string', default: '200' } } });
const OWED = Number(values.owed);
const RUNS = Number(values.runs);
const pg = process.env.DATABASE_URL;
if (!pg) throw new Error('DATABASE_URL is needed');
const load = loadAverage;
const ms = (x: number) => x.toFixed(2);

await withScratchSchema(pg, 'bench_lease', async (db) => {
  const requests = createErasureRepository(db);
  console.log(`# erasure-lease-renewal: ${new Date().toISOString()}, ${cpus().length} cores, load average ${load()}, Postgres`);
  // Each held by the process renewing (its token 'bench:', migration 039), under one claim per 100 as the re-driver takes them.
  await db.query(
    `INSERT INTO erasure_requests (user_id, next_at, holder) SELECT 'c' || g, now() + interval '1 minute', 'bench:' || (g / 100) FROM generate_series(1, $1::int) g`,
    [OWED],
  );
  await db.query('ANALYZE erasure_requests');
  for (const held of [1, 100, 1000]) {
    const ids = Array.from({ length: held }, (_, i) => `c${i + 1}`);
    const xs: number[] = [];
    for (let k = 0; k < RUNS; k++) {
      const t0 = performance.now();
      await requests.renewErasures(ids, 60_000, 'bench:');
      xs.push(performance.now() - t0);
    }
    console.log(`renewal of ${held} held among ${OWED} owed, ${RUNS} runs: median ${ms(quantile(xs, 0.5))} ms, p95 ${ms(quantile(xs, 0.95))} ms; at one every 15 s ${((quantile(xs, 0.5) / 15_000) * 100).toFixed(4)} % of the time`);
  }
  // The turn's look (event-repository deleteUsers with an owner, under the erasures' lock) at which of its customers'
  // requests the process still holds: one statement a turn, of 1 to 100 (ERASURE_BATCH) ids.
  for (const held of [1, 100]) {
    const ids = Array.from({ length: held }, (_, i) => `c${i + 1}`);
    const xs: number[] = [];
    for (let k = 0; k < RUNS; k++) {
      const t0 = performance.now();
      await db.query('SELECT user_id, coalesce(starts_with(holder, $2), false) AS mine FROM erasure_requests WHERE user_id = ANY($1::text[])', [ids, 'bench:']);
      xs.push(performance.now() - t0);
    }
    console.log(`a turn's look at the holder of ${held} among ${OWED} owed, ${RUNS} runs: median ${ms(quantile(xs, 0.5))} ms, p95 ${ms(quantile(xs, 0.95))} ms`);
  }
  const plan = (await db.query<{ 'QUERY PLAN': string }>(
    "EXPLAIN UPDATE erasure_requests SET next_at = now() WHERE user_id IN (SELECT user_id FROM erasure_requests WHERE user_id = ANY(ARRAY['c1','c2']) AND starts_with(holder, 'bench:') FOR UPDATE SKIP LOCKED)",
  )).rows.map((r) => r['QUERY PLAN'].trim());
  console.log(`its plan: ${plan.join(' / ')}`);

  // The erasure path's own addition: a hold and its release per erasure (no statement unless held past a quarter lease).
  let renewals = 0;
  const leases = createErasureLeases({ renew: async () => void renewals++, leaseMs: 60_000 });
  const N = 100_000;
  const t0 = performance.now();
  for (let k = 0; k < N; k++) leases.hold(`c${k % 1000}`)();
  const perHold = ((performance.now() - t0) / N) * 1e6;
  console.log(`hold + release: ${perHold.toFixed(0)} ns each (${N} runs), ${renewals} renewals made`);
  console.log(`load average after: ${load()}`);
});
