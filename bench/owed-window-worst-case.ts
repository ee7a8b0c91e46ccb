/**
 * The worst case of the owed range checks' index walk (bench/owed-window-check.ts measures the case where few owed
 * purchases lie at the ends): M purchases, the older half by M/4 customers not owed, the newest half by M/2 customers
 * whose erasure is owed (one purchase each). purchaseRange('owed') then probes erasure_requests once per owed purchase
 * from the newest end. Prints each way's wall and node CPU (one call after a warm one), the results and the plan.
 *
 *   DATABASE_URL=postgres://.../DB npx tsx bench/owed-window-worst-case.ts [M=200000]
 *
 * Writes into a schema of its own (dropped at the end).
 */
import { createPgDb } from '../src/data/db.js';
import { migrate } from '../src/data/migrate.js';
import { createEventRepository } from '../src/data/event-repository.js';
import { createErasureRepository } from '../src/data/erasure-repository.js';
const M = Number(process.argv[2] ?? 200000);
const url = process.env.DATABASE_URL!;
const schema = `r5_worst_${process.pid}`;
const admin = createPgDb(url, { max: 1 });
await admin.exec(`CREATE SCHEMA ${schema}`);
const db = createPgDb(url, { max: 1, schema });
try {
  await migrate(db);
  const half = M / 2;
  const t0 = Date.UTC(2024, 0, 1);
  await db.query("INSERT INTO items (id) SELECT 'i' || g FROM generate_series(0, 499) g");
  await db.query("INSERT INTO users (id) SELECT 'c' || g FROM generate_series(0, $1::int - 1) g", [half / 2]);
  await db.query("INSERT INTO users (id) SELECT 'o' || g FROM generate_series(0, $1::int - 1) g", [half]);
  // older half: customers c*, newest half: owed o* (one purchase each)
  await db.query(`INSERT INTO purchase_events (event_id, user_id, item_id, quantity, order_id, ts)
     SELECT 'e' || g, CASE WHEN g < $3::int THEN 'c' || (g % ($3::int / 2)) ELSE 'o' || (g - $3::int) END, 'i' || (g % 500), 1, 'o' || g, to_timestamp($1::float8 / 1000 + g * 60) FROM generate_series(0, $2::int - 1) g`, [t0, M, half]);
  await db.query(`INSERT INTO erasure_requests (user_id, next_at) SELECT 'o' || g, now() + interval '1 hour' FROM generate_series(0, $1::int - 1) g`, [half]);
  await db.exec('ANALYZE');
  const events = createEventRepository(db);
  const er = createErasureRepository(db);
  const window = { from: new Date(t0 + (M * 0.75) * 60_000), to: new Date(t0 + (M * 0.75 + 1440) * 60_000) };
  const run = async (name: string, f: () => Promise<unknown>) => {
    await f();
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    const r = await f();
    const wall = performance.now() - w0;
    const c = process.cpuUsage(c0);
    console.log(name, wall.toFixed(1), 'ms wall', ((c.user + c.system) / 1000).toFixed(1), 'node cpu ms', JSON.stringify(r));
  };
  await run('after range', () => events.purchaseRange('owed'));
  await run('after firstIn(owed window)', () => events.firstPurchaseIn(window, 'owed'));
  await run('before range', async () => events.purchaseRange(await er.pendingRequests()));
  await run('before firstIn', async () => events.firstPurchaseIn(window, await er.pendingRequests()));
  const notOwed = 'NOT EXISTS (SELECT 1 FROM (SELECT user_id FROM erasure_requests) AS owed WHERE owed.user_id = p.user_id OFFSET 0)';
  for (const sql of [`SELECT (SELECT p.ts FROM purchase_events p WHERE ${notOwed} ORDER BY p.ts DESC LIMIT 1) AS last`]) {
    const { rows } = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`);
    console.log(rows.map((r) => r['QUERY PLAN']).join('\n'));
  }
} finally { await db.close(); await admin.exec(`DROP SCHEMA ${schema} CASCADE`); await admin.close(); }
