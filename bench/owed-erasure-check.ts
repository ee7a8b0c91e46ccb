/**
 * What honouring erasures owed costs (privacy/owed-erasures.ts): serving asks `has(id)` once per recommendation request
 * (GET /v1/users/:id/recommendations, POST /v1/recommendations naming a userId, recommendForUserNow), and every process
 * reads the owed ids at each read of the erasures (every ERASURE_REFRESH_MS, 5 s by default): one more statement.
 *
 * 1. `has` per call, for 0, 100, 10,000 and 100,000 ids owed, asked for ids owed and not (a Set lookup; none owed:
 *    a size check only).
 * 2. The read and replace (erasure_requests' ids, as the follower makes it) for 0, 100 and 10,000 owed rows, on its own
 *    Postgres schema (dropped at the end), and the heap the set takes at 100,000 ids.
 *
 *   DATABASE_URL=postgres://... node --expose-gc --import tsx bench/owed-erasure-check.ts [--calls 2000000] [--runs 200]
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createErasureRepository } from '../src/data/erasure-repository.js';
import { withScratchSchema } from './lib/bench-schema.js';
import { createOwedErasures } from '../src/privacy/owed-erasures.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '2000000' }, runs: { type: 'string', default: '200' } } });
const CALLS = Number(values.calls);
const RUNS = Number(values.runs);
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

console.log(`# owed-erasure-check: ${new Date().toISOString()}, ${cpus().length} cores, load average ${load()}`);

// 1. The check per request. Ids as a storefront sends them: customer numbers as strings.
const asked = Array.from({ length: 4096 }, (_, k) => `customer-${100_000 + k * 37}`);
for (const size of [0, 100, 10_000, 100_000]) {
  const owed = createOwedErasures();
  // Half the asked ids owed when the set is large enough; the rest never.
  const ids = Array.from({ length: size }, (_, k) => (k < asked.length / 2 ? asked[k * 2] : `owed-${k}`));
  await owed.refresh(async () => ids);
  let hits = 0;
  const xs: number[] = [];
  for (let round = 0; round < 5; round++) {
    const c0 = cpuMs();
    const t0 = performance.now();
    for (let k = 0; k < CALLS; k++) if (owed.has(asked[k & 4095])) hits++;
    const wall = performance.now() - t0;
    xs.push(Math.min(wall, cpuMs() - c0));
  }
  const best = quantile(xs, 0);
  console.log(`has(), ${size} owed: ${((best * 1e6) / CALLS).toFixed(1)} ns per call (best of 5 rounds of ${CALLS}, CPU-bounded), ${hits / 5} of ${CALLS} asked were owed`);
}

// The heap 100,000 ids owed take.
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) {
  gc();
  const before = process.memoryUsage().heapUsed;
  const owed = createOwedErasures();
  await owed.refresh(async () => Array.from({ length: 100_000 }, (_, k) => `customer-${1_000_000 + k}`));
  gc();
  console.log(`heap of 100,000 ids owed (ids of 15 characters): ${((process.memoryUsage().heapUsed - before) / 1e6).toFixed(1)} MB, ${owed.size} held`);
}

// 2. The read each read of the erasures adds.
const pg = process.env.DATABASE_URL;
if (!pg) {
  console.log('no DATABASE_URL: the read was not measured');
} else {
  await withScratchSchema(pg, 'bench_owed', async (db) => {
  const requests = createErasureRepository(db);
  const owed = createOwedErasures();
  let rows = 0;
  for (const n of [0, 100, 10_000]) {
    if (n > rows) await db.query(`INSERT INTO erasure_requests (user_id, next_at) SELECT 'c' || g, now() + interval '1 hour' FROM generate_series($1::int, $2::int) g`, [rows + 1, n]);
    rows = n;
    await db.query('ANALYZE erasure_requests');
    await owed.refresh(requests.pendingRequests);
    const xs: number[] = [];
    for (let k = 0; k < RUNS; k++) {
      const t0 = performance.now();
      await owed.refresh(requests.pendingRequests);
      xs.push(performance.now() - t0);
    }
    if (owed.size !== n) throw new Error(`expected ${n} owed, held ${owed.size}`);
    const median = quantile(xs, 0.5);
    console.log(`read and replace, ${n} owed, ${RUNS} reads: median ${median.toFixed(2)} ms, p95 ${quantile(xs, 0.95).toFixed(2)} ms; at one every 5 s that is ${((median / 5000) * 100).toFixed(4)} % of the time`);
  }
  });
}
console.log(`load average after: ${load()}`);
