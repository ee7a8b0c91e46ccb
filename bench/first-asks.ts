/**
 * A storefront's first asks: what a shop's first visitors after a deploy (a fresh process) or after a new
 * model version wait, on a shop imported and trained into DATABASE_URL and REDIS_URL (default key prefix;
 * `npm run bench:scale -- --copies 10 --keep --steps import,train` builds one at ten times Online Retail:
 * DATABASE_URL then needs the kept schema, `?options=-c%20search_path%3D<schema>`).
 *
 *   DATABASE_URL=... REDIS_URL=... npx tsx bench/first-asks.ts [--port 47400] [--repeats 5] [--parts fresh,version]
 *                                                              [--country France] [--other-country Germany]
 *                                                              [--settle MS] [--only overview,popular]
 *
 * The asks (each timed from outside over HTTP, one at a time):
 *   cold start, unknown     GET /v1/users/<an id nobody has>/recommendations?k=10 (a new visitor)
 *   cold start, country     POST /v1/recommendations { attributes: { country }, k: 10 } (a visitor the shop
 *                           knows only the country of; nothing in the cart)
 *   popular                 GET /v1/popular?k=10
 *   popular, country        GET /v1/popular?k=10&attribute=country:<country>
 *   popular, 30 days        GET /v1/popular?k=10&windowDays=30 (counted by Postgres, not the model)
 *   known customer          GET /v1/users/<a customer with purchases>/recommendations?k=10
 *   similar items           GET /v1/items/<a product bought>/similar?k=10
 *   overview                GET /v1/overview (the dashboard's first call)
 * "first" is the first ask of its kind; "again" the next `repeats` asks (median / max): for the customer,
 * visitor and product asks each of those names another one (a storefront's next visitors), for the others
 * the same question; "other value" asks the country ones once more with `--other-country`.
 *
 * Part `fresh`: per ask, the service (src/server.ts as `npm start`, its own process, on --port) is started
 * anew and that ask is its first request once /health/ready answers (start to ready is printed too), so
 * no ask is warmed by another (`--settle MS`: the ask comes that long after ready, a first visit some time after
 * a deploy; `--only`: only the asks whose names start so). Part `version`: one service asks each kind once (warm), then this process
 * activates the store's other newest version (as a worker's training does when it publishes; the store needs
 * two versions: run the train phase twice), waits until `GET /v1/models` says the service serves it, and
 * asks each kind again: its first ask on the new version. The active pointer is set back at the end.
 * Nothing else is written. Prints a markdown table per part, with the load average.
 */
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import pg from 'pg';
import { DEFAULT_REDIS_PREFIX } from '../src/store/create-model-store.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { optionTaker } from './lib/online-retail.js';
import { spawnServer, waitReady } from './lib/service-process.js';

const option = optionTaker(process.argv.slice(2));
const PG = process.env.DATABASE_URL;
const REDIS = process.env.REDIS_URL;
if (!PG || !REDIS) throw new Error('set DATABASE_URL and REDIS_URL to a shop imported and trained there (see the header)');
const PORT = Number(option('--port') ?? 47400);
const REPEATS = Number(option('--repeats') ?? 5);
const PARTS = (option('--parts') ?? 'fresh,version').split(',');
const COUNTRY = option('--country') ?? 'France';
const OTHER_COUNTRY = option('--other-country') ?? 'Germany';
/** Part fresh: how long after ready the first ask comes (a storefront's or dashboard's first visit is rarely at once). */
const SETTLE_MS = Number(option('--settle') ?? 0);
/** Only the asks whose names start with one of these (comma-separated), e.g. `--only overview`. */
const ONLY = option('--only')?.split(',');
const KEY = 'bench-first-asks-key-0123456789';
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

// Who and what to ask for: customers with purchases and products bought, spread over the shop.
const db = new pg.Client({ connectionString: PG });
await db.connect();
const customers = (await db.query<{ user_id: string }>('SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY md5(user_id) LIMIT 200')).rows.map((r) => r.user_id);
const products = (await db.query<{ item_id: string }>('SELECT item_id FROM item_buyers GROUP BY item_id ORDER BY md5(item_id) LIMIT 200')).rows.map((r) => r.item_id);
await db.end();
let nextCustomer = 0;
let nextProduct = 0;
let nextVisitor = 0;
const run = Date.now().toString(36);

interface Ask {
  name: string;
  /** The n-th request of this kind: path and optional JSON body. */
  request: (n: number, other?: boolean) => { path: string; body?: unknown };
  /** Whether the `other value` ask applies. */
  other?: boolean;
}
const ASKS: Ask[] = [
  { name: 'cold start, unknown visitor', request: () => ({ path: `/v1/users/first-asks-${run}-${nextVisitor++}/recommendations?k=10` }) },
  { name: 'cold start, country', request: (_n, other) => ({ path: '/v1/recommendations', body: { attributes: { country: other ? OTHER_COUNTRY : COUNTRY }, k: 10 } }), other: true },
  { name: 'popular', request: () => ({ path: '/v1/popular?k=10' }) },
  { name: 'popular, country', request: (_n, other) => ({ path: `/v1/popular?k=10&attribute=${encodeURIComponent(`country:${other ? OTHER_COUNTRY : COUNTRY}`)}` }), other: true },
  { name: 'popular, last 30 days', request: () => ({ path: '/v1/popular?k=10&windowDays=30' }) },
  { name: 'known customer', request: () => ({ path: `/v1/users/${encodeURIComponent(customers[nextCustomer++ % customers.length])}/recommendations?k=10` }) },
  { name: 'similar items', request: () => ({ path: `/v1/items/${encodeURIComponent(products[nextProduct++ % products.length])}/similar?k=10` }) },
  { name: 'overview', request: () => ({ path: '/v1/overview' }) },
];

async function timed(base: string, req: { path: string; body?: unknown }): Promise<{ ms: number; fallback?: boolean; version?: string }> {
  const t0 = performance.now();
  const res = await fetch(base + req.path, {
    method: req.body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${KEY}`, ...(req.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: req.body === undefined ? undefined : JSON.stringify(req.body),
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${req.path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { fallback?: boolean; modelVersion?: string; model?: { version: string } };
  return { ms, fallback: body.fallback, version: body.modelVersion ?? body.model?.version };
}

interface Row {
  name: string;
  first: number;
  again: number[];
  other?: number;
  version?: string;
  ready?: number;
}

/** One ask's first request, then its repeats and other value. */
async function askAll(base: string, ask: Ask): Promise<Row> {
  const first = await timed(base, ask.request(0));
  const again: number[] = [];
  for (let n = 1; n <= REPEATS; n++) again.push((await timed(base, ask.request(n))).ms);
  const other = ask.other ? (await timed(base, ask.request(REPEATS + 1, true))).ms : undefined;
  return { name: ask.name, first: first.ms, again, other, version: first.version };
}

const env = {
  DATABASE_URL: PG,
  REDIS_URL: REDIS,
  API_KEYS: `admin:${KEY}`,
  LOG_LEVEL: 'warn',
  SAMPLE_DATA: 'false',
  // No job of this process's own: a storefront replica's.
  JOB_RUNNER: 'worker',
};

async function withServer<T>(fn: (base: string, readyMs: number) => Promise<T>): Promise<T> {
  const started = performance.now();
  const server = spawnServer(PORT, env);
  try {
    const base = `http://127.0.0.1:${PORT}`;
    await waitReady(`${base}/health/ready`, server, 600_000, 50);
    return await fn(base, performance.now() - started);
  } finally {
    server.kill('SIGTERM');
    if (server.exitCode === null) await once(server, 'exit');
  }
}

const fmt = (ms: number | undefined) => (ms === undefined ? '-' : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
function printRows(title: string, rows: Row[], withReady: boolean): void {
  console.log(`\n## ${title}\n`);
  console.log(`| ask | ${withReady ? 'start to ready (ms) | ' : ''}first (ms) | again, median / max (ms) | other value (ms) |`);
  console.log(`|---|${withReady ? '---:|' : ''}---:|---:|---:|`);
  for (const r of rows) {
    console.log(`| ${r.name} | ${withReady ? `${fmt(r.ready)} | ` : ''}${fmt(r.first)} | ${fmt(median(r.again))} / ${fmt(Math.max(...r.again))} | ${fmt(r.other)} |`);
  }
}

console.log(`# first-asks: ${new Date().toISOString()}, ${cpus().length} cores, load average ${load()}; ${REPEATS} repeats`);

if (PARTS.includes('fresh')) {
  const rows: Row[] = [];
  for (const ask of ASKS.filter((a) => !ONLY || ONLY.some((o) => a.name.startsWith(o)))) {
    rows.push(
      await withServer(async (base, readyMs) => {
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        return { ...(await askAll(base, ask)), ready: readyMs };
      }),
    );
    console.error(`[fresh] ${ask.name}: first ${fmt(rows.at(-1)!.first)} ms (load ${load()})`);
  }
  printRows(`Each ask the first request of a fresh process (load average at the end ${load()})`, rows, true);
}

if (PARTS.includes('version')) {
  const store = createRedisModelStore({ url: REDIS, prefix: DEFAULT_REDIS_PREFIX });
  const active = await store.getActive();
  const versions = await store.listVersions();
  const other = versions.find((v) => v.version !== active?.version);
  if (!active || !other) throw new Error('part version: the store needs an active version and another one (train twice)');
  try {
    const rows = await withServer(async (base) => {
      for (const ask of ASKS) await askAll(base, ask);
      const t0 = performance.now();
      await store.activate(other.version);
      // Served once this process has readied it (GET /v1/models names the version it answers with).
      for (;;) {
        const res = await fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
        const body = (await res.json()) as { served?: string | null };
        if (body.served === other.version) break;
        if (performance.now() - t0 > 600_000) throw new Error(`the service did not serve ${other.version} within 10 minutes`);
        await new Promise((r) => setTimeout(r, 50));
      }
      console.error(`[version] ${other.version} served ${fmt(performance.now() - t0)} ms after its activation`);
      const after: Row[] = [];
      for (const ask of ASKS) after.push(await askAll(base, ask));
      return { after, readiedMs: performance.now() - t0 };
    });
    for (const r of rows.after) if (r.version !== undefined && r.version !== other.version) throw new Error(`${r.name} answered with ${r.version}, not ${other.version}`);
    printRows(`Each ask's first request on a new version, ${other.version} activated while the service ran (load average at the end ${load()})`, rows.after, false);
  } finally {
    await store.activate(active.version);
    await store.close();
  }
}
