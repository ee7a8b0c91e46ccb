/**
 * What reading the purchases in a total order (ORDER BY ts, event_id: event-repository.ts purchaseRowsQuery)
 * costs a training, an evaluation or a tune, against the same read in whatever order the table's rows lie.
 *
 *   npm run import -- online-retail FILE   (into DATABASE_URL; bench/scale.ts's copies for more)
 *   DATABASE_URL=... npx tsx bench/purchase-read-order.ts [--runs 3]
 *
 * Each run reads every purchase twice through a cursor in the repository's batches, unordered then ordered
 * (the order of the two alternates between runs, so a cache warmed by the first favours neither), and
 * prints the time of each, the rows read, the plan Postgres chose for the ordered read and the median
 * of each over the runs.
 */
import { loadavg } from 'node:os';
import { createPgDb } from '../src/data/db.js';
import { createEventRepository } from '../src/data/event-repository.js';

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 3;
const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL: the database to read the purchases of');

const db = createPgDb(url, { max: 2 });
const events = createEventRepository(db);
// The read before the mend: the same columns and batches, no ORDER BY.
const UNORDERED = `SELECT user_id AS u, item_id AS i, order_id AS o, (extract(epoch FROM ts) * 1000)::float8 AS t, quantity AS q, price AS p
  FROM purchase_events WHERE ($1::timestamptz IS NULL OR ts >= $1) AND ($2::timestamptz IS NULL OR ts < $2)`;

async function timed(read: () => AsyncIterable<unknown[]>): Promise<{ ms: number; rows: number }> {
  const start = performance.now();
  let rows = 0;
  for await (const batch of read()) rows += batch.length;
  return { ms: performance.now() - start, rows };
}

const unordered = () => timed(() => db.stream(UNORDERED, [null, null]));
const ordered = () => timed(() => events.streamPurchaseRows());

const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${UNORDERED} ORDER BY ts, event_id`, [null, null]);
console.log(`plan of the ordered read:\n${plan.rows.map((r) => `  ${r['QUERY PLAN']}`).join('\n')}`);
const times = { unordered: [] as number[], ordered: [] as number[] };
for (let run = 0; run < runs; run++) {
  const pair = run % 2 === 0 ? ([['unordered', unordered], ['ordered', ordered]] as const) : ([['ordered', ordered], ['unordered', unordered]] as const);
  for (const [name, read] of pair) {
    const { ms, rows } = await read();
    times[name].push(ms);
    console.log(`run ${run + 1} ${name.padEnd(9)} ${rows} rows  ${(ms / 1000).toFixed(2)} s`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`median unordered ${(median(times.unordered) / 1000).toFixed(2)} s, ordered ${(median(times.ordered) / 1000).toFixed(2)} s; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
await db.close();
