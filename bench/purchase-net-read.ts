/**
 * What reading the purchases net of returns costs against reading them gross (event-repository.ts
 * streamPurchaseRows, loadPurchaseRows), and a hash of what the net read gives, to compare two versions of the code.
 *
 *   DATABASE_URL=... npx tsx bench/purchase-net-read.ts [--returns ORDER_LINES_CSV] [--runs 3] [--batches 20]
 *
 * `--returns` first stores the lines of a fashion shop's order_lines.csv (bench/lib/fashion-shop.py's shop/ folder)
 * whose `qty` is negative as returns of their customer, item and order (`order_no`), as the generic importer's
 * `type=return` rows are stored, when the database holds no return yet (a copy of the store made before the
 * returns could be imported). Then each run reads every purchase through the cursor twice, gross (net of no
 * return, as tuning reads before its windows) and net of every return, alternating which goes first, and prints
 * each time and the rows; the net read's rows are hashed (sha256 of user, item, order, ms, quantity, price a row,
 * in the order read): the same hash on two versions of the code is the same stream. Then `--batches` reads of 128
 * customers who made returns (loadPurchaseRows({ userIds }): the request path's batched read, batched-reads.ts),
 * timed one by one, and the statements each made.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { createPgDb, type Db } from '../src/data/db.js';
import { createEventRepository, returnContent, deriveEventIds, type ReturnInput } from '../src/data/event-repository.js';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const runs = Number(arg('--runs') ?? 3);
const batches = Number(arg('--batches') ?? 20);
const returnsFile = arg('--returns');
const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL: the database to read the purchases of');

const db = createPgDb(url, { max: 2 });
const events = createEventRepository(db);
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

async function storeReturns(file: string): Promise<void> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM return_events');
  if (rows[0].n > 0) {
    console.log(`returns stored already: ${rows[0].n}`);
    return;
  }
  const start = performance.now();
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let header: string[] | undefined;
  let batch: ReturnInput[] = [];
  let stored = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const ids = deriveEventIds(batch, (e) => returnContent(e));
    stored += (await events.importReturns(batch.map((e, k) => ({ ...e, eventId: ids[k] })))).inserted;
    batch = [];
  };
  for await (const line of lines) {
    const cells = line.split(',');
    if (!header) {
      header = cells;
      continue;
    }
    const at = (name: string) => cells[header!.indexOf(name)];
    const qty = Number(at('qty'));
    if (!(qty < 0)) continue;
    batch.push({ userId: at('customer_no'), itemId: at('sku'), orderId: at('order_no') || null, quantity: -qty, ts: new Date(at('created_at')) });
    if (batch.length >= 5000) await flush();
  }
  await flush();
  console.log(`stored ${stored} returns from ${file} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
}

async function timedStream(net: boolean): Promise<{ ms: number; rows: number; hash: string }> {
  const hash = createHash('sha256');
  const start = performance.now();
  let rows = 0;
  // Gross: net of the returns before year 1 (none), as tune-command.ts NO_RETURNS reads.
  for await (const batch of events.streamPurchaseRows(net ? {} : { returnsBefore: new Date('0001-01-01T00:00:00Z') })) {
    rows += batch.length;
    for (const r of batch) hash.update(`${r.userId}|${r.itemId}|${r.orderId ?? ''}|${r.ts}|${r.quantity}|${r.price ?? ''}\n`);
  }
  return { ms: performance.now() - start, rows, hash: hash.digest('hex').slice(0, 16) };
}

/** The database, counting the statements made through it. */
function counted(inner: Db): { db: Db; statements: () => number } {
  let n = 0;
  return { db: Object.assign(Object.create(inner) as Db, { query: (sql: string, params?: unknown[]) => (n++, inner.query(sql, params)) }), statements: () => n };
}

if (returnsFile) await storeReturns(returnsFile);
const times = { gross: [] as number[], net: [] as number[] };
for (let run = 0; run < runs; run++) {
  for (const net of run % 2 === 0 ? [false, true] : [true, false]) {
    const { ms, rows, hash } = await timedStream(net);
    times[net ? 'net' : 'gross'].push(ms);
    console.log(`run ${run + 1} ${net ? 'net  ' : 'gross'} ${rows} rows  ${(ms / 1000).toFixed(2)} s  sha256 ${hash}  load ${load()}`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
if (runs > 0) console.log(`median gross ${(median(times.gross) / 1000).toFixed(2)} s, net ${(median(times.net) / 1000).toFixed(2)} s`);

if (batches > 0) {
  // Customers with returns, the same ones on every version (ordered by a hash of the id).
  const { rows } = await db.query<{ user_id: string }>(`SELECT user_id FROM (SELECT DISTINCT user_id FROM return_events) r ORDER BY md5(user_id) LIMIT $1`, [128 * batches]);
  const ids = rows.map((r) => r.user_id);
  const c = counted(db);
  const batched = createEventRepository(c.db);
  const ms: number[] = [];
  const hash = createHash('sha256');
  for (let b = 0; b * 128 < ids.length; b++) {
    const start = performance.now();
    const got = await batched.loadPurchaseRows({ userIds: ids.slice(b * 128, (b + 1) * 128) });
    ms.push(performance.now() - start);
    for (const r of got) hash.update(`${r.userId}|${r.itemId}|${r.orderId ?? ''}|${r.ts}|${r.quantity}|${r.price ?? ''}\n`);
  }
  console.log(
    `batched reads of 128 customers with returns: ${ms.length} batches, ${c.statements() / ms.length} statements each, median ${median(ms).toFixed(1)} ms, ` +
      `min ${Math.min(...ms).toFixed(1)} ms, sha256 ${hash.digest('hex').slice(0, 16)}, load ${load()}`,
  );
}
await db.close();
