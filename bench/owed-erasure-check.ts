/**
 * What honouring erasures owed costs (privacy/owed-erasures.ts): serving asks `has(id)` once per recommendation request
 * (GET /v1/users/:id/recommendations, POST /v1/recommendations naming a userId, recommendForUserNow), and every process
 * reads the owed ids at each read of the erasures (every ERASURE_REFRESH_MS, 5 s by default): one more statement.
 *
 * 1. `has` per call, for 0, 100, 10,000 and 100,000 ids owed, asked for ids owed and not (a Set lookup; none owed:
 *    a size check only).
 * 2. The read of the owed ids for 0, 100 and 10,000 owed rows, on its own Postgres schema (dropped at the end): every id
 *    read and the list replaced (every read before the fifty-fourth session; now a process's first and one an hour),
 *    and what changed since the last read (erasure-repository owedSince) applied, with nothing new and with one asked
 *    and one completed before each (those two writes not timed). And the heap the set takes at 100,000 ids.
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
  const timed = async (what: string, n: number, read: () => Promise<void>, before?: () => Promise<void>) => {
    await before?.();
    await read();
    const xs: number[] = [];
    for (let k = 0; k < RUNS; k++) {
      await before?.();
      const t0 = performance.now();
      await read();
      xs.push(performance.now() - t0);
    }
    if (owed.size !== n) throw new Error(`expected ${n} owed, held ${owed.size}`);
    const median = quantile(xs, 0.5);
    console.log(`${what}, ${n} owed, ${RUNS} reads: median ${median.toFixed(2)} ms, p95 ${quantile(xs, 0.95).toFixed(2)} ms; at one every 5 s that is ${((median / 5000) * 100).toFixed(4)} % of the time`);
  };
  let rows = 0;
  for (const n of [0, 100, 10_000]) {
    if (n > rows) await db.query(`INSERT INTO erasure_requests (user_id, next_at) SELECT 'c' || g, now() + interval '1 hour' FROM generate_series($1::int, $2::int) g`, [rows + 1, n]);
    rows = n;
    await db.query('ANALYZE erasure_requests');
    // Every id owed, read and put in place: every read before the fifty-fourth session; now a process's first, and
    // one an hour (erasure-follower OWED_FULL_READ_MS).
    await timed('read every id owed and replace', n, async () => void (await owed.refresh(requests.pendingRequests)));
    // What changed since the last read (erasure-repository owedSince), nothing new: every other read now.
    let mark = (await requests.owedSince(null)).mark;
    const changes = async () => {
      const got = await requests.owedSince(mark);
      mark = got.mark;
      await owed.refresh(async () => ('all' in got ? got.all : { owed: got.owed, settled: got.settled }));
    };
    await timed('read what changed (nothing) and apply', n, changes);
    // And with a change each time: one erasure asked, another completed (its request deleted, the settled id written).
    if (n > 0) {
      let k = 0;
      // The two writes are made before each timed read, not timed.
      await timed('one asked and one completed since, read and applied', n, changes, async () => {
        k++;
        await db.query("INSERT INTO erasure_requests (user_id, next_at) VALUES ($1, now() + interval '1 hour')", [`new-${k}`]);
        await db.query('DELETE FROM erasure_requests WHERE user_id = $1', [k === 1 ? 'c1' : `new-${k - 1}`]);
      });
      // Back to the rows 'c' || 1..n for the next size.
      await db.query("DELETE FROM erasure_requests WHERE user_id LIKE 'new-%'");
      await db.query("INSERT INTO erasure_requests (user_id, next_at) VALUES ('c1', now() + interval '1 hour')");
      await changes();
    }
  }
  });
}
console.log(`load average after: ${load()}`);
