/**
 * What the serving process's catalog overlay (src/serving/catalog-overlay.ts) costs per pass on a stored catalogue.
 *
 *   DATABASE_URL=postgres://... npx tsx bench/catalog-overlay.ts [--passes 20] [--touch 100] [--one-stamp] [--restarted]
 *
 * Builds a served model's item table from the items table as it is (as a version trained now would hold it), then
 * runs the overlay's passes one after another as the 2 s timer would while requests come: the first pass, then
 * `--passes` quiet ones (no write in between), then one after an UPDATE of `--touch` items and `--passes` more.
 * Prints, per phase, the rows each pass read (counted on the query interface, so any version of the overlay can be
 * measured) and the pass's wall time and the process's CPU time (the serving thread's cost: the reads, pg's row
 * parsing, the comparison). `--one-stamp` first writes every item's updated_at in one statement, 5 minutes back, as a
 * catalogue imported or synced in one transaction has it. The catalogue's other columns are left as they were.
 * `--restarted`: the version's training snapshot (info.catalogSnapshot) names another run of Postgres, so the first
 * pass is the whole-catalogue read that follows a restart, a crash or a failover.
 */
import { createPgDb, type Db } from '../src/data/db.js';
import { AnswerCache } from '../src/serving/answer-cache.js';
import { createCatalogOverlay } from '../src/serving/catalog-overlay.js';
import type { ServingModel } from '../src/serving/serving-model.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const k = args.indexOf(name);
  return k >= 0 ? Number(args[k + 1]) : fallback;
};
const passes = flag('--passes', 20);
const oneStamp = args.includes('--one-stamp');
const restarted = args.includes('--restarted');
const touch = flag('--touch', 100);
const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is required (a database holding an imported catalogue)');

const db = createPgDb(url, { max: 2 });
let read = 0;
const counting: Db = {
  ...db,
  kind: db.kind,
  async query<T>(sql: string, params?: unknown[]) {
    const r = await db.query<T>(sql, params);
    if (/FROM items/.test(sql)) read += r.rows.length;
    return r;
  },
};

if (oneStamp) await db.query(`UPDATE items SET updated_at = now() - interval '5 minutes'`);
const { rows } = await db.query<{ id: string; title: string; categories: string[]; price: number | null; available: boolean; item_group_id: string | null }>(
  'SELECT id, title, categories, price, available, item_group_id FROM items ORDER BY id',
);
const ids = rows.map((r) => r.id);
const groupIds: string[] = [];
const groupIndex = new Map<string, number>();
const of = Int32Array.from(rows, (r) => {
  if (r.item_group_id === null) return -1;
  let g = groupIndex.get(r.item_group_id);
  if (g === undefined) groupIndex.set(r.item_group_id, (g = groupIds.push(r.item_group_id) - 1));
  return g;
});
const snapshot = (await db.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s')).rows[0].s;
const model = {
  meta: { trainedAt: new Date().toISOString(), info: restarted ? { catalogSnapshot: { snapshot, server: 'a run before a restart' } } : {} },
  items: {
    ids,
    index: new Map(ids.map((id, i) => [id, i])),
    titles: rows.map((r) => r.title),
    available: Uint8Array.from(rows, (r) => (r.available ? 1 : 0)),
    price: Float64Array.from(rows, (r) => r.price ?? Number.NaN),
    categories: rows.map((r) => r.categories),
    groups: groupIds.length ? { of, ids: groupIds, index: groupIndex } : undefined,
  },
  answers: new AnswerCache(),
} as unknown as ServingModel;
const stamps = (await db.query<{ n: string }>('SELECT count(DISTINCT updated_at)::text AS n FROM items')).rows[0].n;
console.log(`${ids.length} items (${stamps} distinct updated_at)`);

const overlay = createCatalogOverlay({ db: counting });
async function pass(): Promise<{ rows: number; wallMs: number; cpuMs: number }> {
  read = 0;
  const cpu = process.cpuUsage();
  const t = performance.now();
  await overlay.refresh(model);
  const used = process.cpuUsage(cpu);
  return { rows: read, wallMs: performance.now() - t, cpuMs: (used.user + used.system) / 1000 };
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function report(label: string, results: { rows: number; wallMs: number; cpuMs: number }[]) {
  const r = results.map((x) => x.rows);
  console.log(
    `${label.padEnd(28)} passes ${String(results.length).padStart(3)}  rows/pass median ${String(median(r)).padStart(6)} (min ${Math.min(...r)}, max ${Math.max(...r)})` +
      `  wall ms median ${median(results.map((x) => x.wallMs)).toFixed(1).padStart(7)}  cpu ms median ${median(results.map((x) => x.cpuMs)).toFixed(1).padStart(7)}`,
  );
}

report('first pass', [await pass()]);
const quiet = [];
for (let k = 0; k < passes; k++) quiet.push(await pass());
report('quiet catalogue', quiet);
await db.query(`UPDATE items SET updated_at = now() WHERE id IN (SELECT id FROM items ORDER BY id LIMIT $1)`, [touch]);
report(`after ${touch} items written`, [await pass()]);
const after = [];
for (let k = 0; k < passes; k++) after.push(await pass());
report('quiet again', after);
await db.close();
