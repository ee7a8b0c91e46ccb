/**
 * The range checks that leave out the customers whose erasure is owed (erasure_requests), as a training-job submission
 * with from/to (job-service checkWindow), an evaluation's period check and tune's returns window make them:
 * - before: the owed ids read into the process (pendingRequests) and sent back as a text[] parameter
 *   (purchaseRange(ids), firstPurchaseIn(window, ids): `user_id <> ALL($1)`);
 * - after: the same reads with 'owed' (erasure_requests anti-joined inside Postgres, no id sent).
 * N owed ids in erasure_requests (the first 1,000 of them the buyers of the latest purchases, so each end's walk passes
 * them; the rest customers who bought nothing), M purchases. For each N and way: the results (must agree), the median
 * wall time of `--calls` checks, and the CPU of the process and of its Postgres backend (one connection, read from
 * /proc: run it on the database's machine) per check.
 *
 *   DATABASE_URL=postgres://.../DB npx tsx bench/owed-window-check.ts [--owed 0,10000,100000] [--purchases 200000] [--calls 5]
 *
 * Also, for each N, the input read of an evaluation and tune (owed-free-input.ts): the owed ids and the latest purchase
 * of the others in two statements (before) and in one (after, owedAndLatest).
 *
 * Writes into a schema of its own (dropped at the end).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createPgDb } from '../src/data/db.js';
import { migrate } from '../src/data/migrate.js';
import { createEventRepository, type LeftOut } from '../src/data/event-repository.js';
import { createErasureRepository } from '../src/data/erasure-repository.js';

const args = process.argv.slice(2);
const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const owedSizes = (opt('--owed') ?? '0,10000,100000').split(',').map(Number);
const M = Number(opt('--purchases') ?? 200_000);
const calls = Number(opt('--calls') ?? 5);
const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is required');

const schema = `owed_window_bench_${process.pid}`;
const admin = createPgDb(url, { max: 1 });
await admin.exec(`CREATE SCHEMA ${schema}`);
const db = createPgDb(url, { max: 1, schema });
const TICK_MS = 10; // USER_HZ 100 on Linux
const backendCpuMs = async (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let pid = 0;
/** `fn` once to warm, then `calls` times: its answers into `answers`, the median wall and the CPU per call printed. */
async function timed(label: string, fn: () => Promise<string>, answers: string[], per: string): Promise<void> {
  answers.push(await fn());
  const walls: number[] = [];
  const c0 = process.cpuUsage();
  const b0 = await backendCpuMs(pid);
  for (let i = 0; i < calls; i++) {
    const w0 = performance.now();
    answers.push(await fn());
    walls.push(performance.now() - w0);
  }
  const c = process.cpuUsage(c0);
  const b = (await backendCpuMs(pid)) - b0;
  console.log(`${label}: median ${median(walls).toFixed(1)} ms wall, node CPU ${((c.user + c.system) / 1000 / calls).toFixed(1)} ms, Postgres backend CPU ${(b / calls).toFixed(1)} ms per ${per}`);
}

try {
  await migrate(db);
  const customers = Math.max(1, Math.floor(M / 4));
  const t0 = Date.UTC(2024, 0, 1);
  await db.query("INSERT INTO items (id) SELECT 'i' || g FROM generate_series(0, 499) g");
  await db.query("INSERT INTO users (id) SELECT 'c' || g FROM generate_series(0, $1::int - 1) g", [customers]);
  // Purchase k at t0 + k minutes, of customer k mod customers: the latest purchases' buyers are the highest-numbered.
  await db.query(
    `INSERT INTO purchase_events (event_id, user_id, item_id, quantity, order_id, ts)
     SELECT 'e' || g, 'c' || (g % $1::int), 'i' || (g % 500), 1, 'o' || g, to_timestamp($2::float8 / 1000 + g * 60) FROM generate_series(0, $3::int - 1) g`,
    [customers, t0, M],
  );
  await db.exec('ANALYZE');
  const { rows: pidRows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  pid = pidRows[0].pid;
  const events = createEventRepository(db);
  const erasures = createErasureRepository(db);
  // A window in the middle of the data, as a training-job submission with from/to names it.
  const window = { from: new Date(t0 + (M / 2) * 60_000), to: new Date(t0 + (M / 2 + 1440) * 60_000) };
  const check = async (left: () => Promise<LeftOut>) => {
    const without = await left();
    const range = await events.purchaseRange(without);
    const first = await events.firstPurchaseIn(window, without);
    return JSON.stringify({ range, first });
  };
  console.log(`load before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; M = ${M} purchases, ${customers} customers, ${calls} checks each`);
  for (const n of owedSizes) {
    await db.exec('TRUNCATE erasure_requests');
    const buyers = Math.min(n, 1000);
    // The buyers of the latest purchases (highest-numbered customers), then customers who bought nothing.
    await db.query(
      `INSERT INTO erasure_requests (user_id, next_at)
       SELECT 'c' || ($1::int - 1 - g), now() + interval '1 hour' FROM generate_series(0, $2::int - 1) g
       UNION ALL SELECT 'gone-' || g, now() + interval '1 hour' FROM generate_series(0, $3::int - 1) g`,
      [customers, buyers, n - buyers],
    );
    await db.exec('ANALYZE erasure_requests');
    const ways: Array<[string, () => Promise<LeftOut>]> = [
      ['before (ids sent)', () => erasures.pendingRequests()],
      ['after (anti-join)', async () => 'owed'],
    ];
    const answers: string[] = [];
    for (const [name, left] of ways) await timed(`N = ${n}: ${name}`, () => check(left), answers, 'check');
    // The owed ids and the latest purchase of the others, as an evaluation and tune read them (owed-free-input.ts):
    // before, two statements (two snapshots); after, one (owedAndLatest).
    const reads: Array<[string, () => Promise<string>]> = [
      ['input read before (2 statements)', async () => JSON.stringify({ owed: (await erasures.pendingRequests()).length, latest: (await events.purchaseRange('owed')).last })],
      ['input read after (1 statement)', async () => JSON.stringify(await events.owedAndLatest().then((r) => ({ owed: r.owedIds.length, latest: r.latest })))],
    ];
    const inputs: string[] = [];
    for (const [name, read] of reads) await timed(`N = ${n}: ${name}`, read, inputs, 'read');
    console.log(`N = ${n}: input reads ${inputs.every((a) => a === inputs[0]) ? 'identical' : 'DIFFER'}: ${inputs[0]}`);
    if (args.includes('--explain')) {
      const notOwed = 'NOT EXISTS (SELECT 1 FROM (SELECT user_id FROM erasure_requests) AS owed WHERE owed.user_id = p.user_id OFFSET 0)';
      for (const sql of [
        `SELECT (SELECT p.ts FROM purchase_events p WHERE ${notOwed} ORDER BY p.ts LIMIT 1) AS first, (SELECT p.ts FROM purchase_events p WHERE ${notOwed} ORDER BY p.ts DESC LIMIT 1) AS last`,
        `SELECT p.ts FROM purchase_events p WHERE p.ts >= '${window.from.toISOString()}' AND p.ts < '${window.to.toISOString()}' AND ${notOwed} ORDER BY p.ts LIMIT 1`,
      ]) {
        const { rows } = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF) ${sql}`);
        console.log(rows.map((r) => `  ${r['QUERY PLAN']}`).join('\n'));
      }
    }
    const same = answers.every((a) => a === answers[0]);
    console.log(`N = ${n}: results ${same ? 'identical' : 'DIFFER'} across ways and calls: ${answers[0]}`);
    if (!same) process.exitCode = 1;
  }
} finally {
  await db.close();
  await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
  await admin.close();
}
