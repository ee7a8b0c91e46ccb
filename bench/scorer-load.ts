/**
 * What a model version costs a serving process before it scores its first customer on request (a
 * customer with no precomputed entry: no purchase in PRECOMPUTE_DAYS), on a shop already imported and
 * trained into DATABASE_URL and REDIS_URL (`npm run import`, `npm run train` twice, so the store holds
 * two versions; default key prefix). Nothing is written except the active pointer, which part 3 flips
 * between the two newest versions and sets back at the end, and one product (`bench-new-item`, added to
 * the catalog as if after training, deleted at the end).
 *
 *   DATABASE_URL=... REDIS_URL=... npx tsx bench/scorer-load.ts [--rounds 3]
 *
 * 1. In this process: the active version's serving tables (src/serving/serving-model.ts), then its
 *    on-request scorer (src/serving/on-request-scorer.ts), each loaded `rounds` times: wall time and the
 *    longest event-loop stall (a 1 ms timer's longest gap).
 * 2. The service (src/server.ts, its own process, as `npm start`) started `rounds` times: time to
 *    /health/ready; then 4 storefront clients each ask for a precomputed customer every 10 ms, and 1 s in,
 *    one customer who is not precomputed is asked for once, then the similar items of the product added
 *    after training. Prints those two requests' latency and the clients' latency (from each request's
 *    scheduled time) over the first 3 s after ready.
 * 3. In the last started service, with the clients running: this process activates the other version
 *    through the store, as a worker's training does when it publishes; 3 s later a customer not
 *    precomputed is asked for. That customer's latency, and the clients' from the activation to 1 s
 *    after that customer's answer, per round.
 */
import { once } from 'node:events';
import net from 'node:net';
import { cpus, loadavg } from 'node:os';
import { createCatalogRepository } from '../src/data/catalog-repository.js';
import { createPgDb } from '../src/data/db.js';
import { loadServingModel } from '../src/serving/serving-model.js';
import { loadOnRequestScorer } from '../src/serving/on-request-scorer.js';
import { DEFAULT_REDIS_PREFIX } from '../src/store/create-model-store.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { spawnServer, waitReady } from './lib/service-process.js';
import { withStallProbe } from './lib/event-loop-stall.js';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const ROUNDS = Number(option('--rounds') ?? 3);
const PG = process.env.DATABASE_URL;
const REDIS = process.env.REDIS_URL;
if (!PG || !REDIS) throw new Error('set DATABASE_URL and REDIS_URL to a shop imported and trained there (see the header)');
const KEY = 'bench-scorer-load-key-0123456789';
const CLIENTS = 4;
const EVERY_MS = 10;

const store = createRedisModelStore({ url: REDIS, prefix: DEFAULT_REDIS_PREFIX });
const active = await store.getActive();
const versions = await store.listVersions();
if (!active || versions.length < 2) throw new Error('the store needs an active version and another one (train twice)');
const other = versions.find((v) => v.version !== active.version)!;
const model = await loadServingModel(store, active);
if (!model) throw new Error(`version ${active.version} has no serving artifacts`);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const lat = (xs: number[]) => `${quantile(xs, 0.5).toFixed(0)} / ${quantile(xs, 0.99).toFixed(0)} / ${Math.max(...xs).toFixed(0)} ms`;


console.log(`# scorer-load: ${new Date().toISOString()}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`version ${active.version}: ${model.items.ids.length} items; the other version ${other.version}`);
console.log('\n## 1. Loading the version in this process');
for (let r = 1; r <= ROUNDS; r++) {
  const { ms, stallMs } = await withStallProbe(() => loadServingModel(store, active));
  console.log(`serving tables, round ${r}: ${ms.toFixed(0)} ms, longest event-loop stall ${stallMs.toFixed(0)} ms`);
}
for (let r = 1; r <= ROUNDS; r++) {
  try {
    const { ms, stallMs } = await withStallProbe(() => loadOnRequestScorer(store, model));
    console.log(`on-request scorer, round ${r}: ${ms.toFixed(0)} ms, longest event-loop stall ${stallMs.toFixed(0)} ms`);
  } catch (err) {
    console.log(`on-request scorer, round ${r}: failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

// Customers with and without a precomputed entry in either version (the service may serve either).
const db = createPgDb(PG, { max: 1 });
const NEW_ITEM = 'bench-new-item';
// Like a product of the catalog's most common category, so content places it among the fitted items.
const { rows: [like] } = await db.query<{ categories: string[] }>('SELECT categories FROM items WHERE id = $1', [model.items.ids[0]]);
await createCatalogRepository(db).upsertItems([{ id: NEW_ITEM, title: 'a product added after training', categories: like?.categories ?? [], price: 10 }]);
const { rows } = await db.query<{ user_id: string }>('SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY max(ts) DESC LIMIT 400');
const { rows: old } = await db.query<{ user_id: string }>('SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY max(ts) ASC LIMIT 400');
const has = async (ids: string[]) => {
  const [a, b] = await Promise.all([active.version, other.version].map((v) => store.getEntries(v, 'serving-users', ids)));
  return ids.map((_, k) => (a[k] !== null) === (b[k] !== null) ? a[k] !== null : undefined);
};
const recent = rows.map((r) => r.user_id);
const precomputed = (await has(recent)).flatMap((p, k) => (p === true ? [recent[k]] : []));
const oldIds = old.map((r) => r.user_id);
const notPrecomputed = (await has(oldIds)).flatMap((p, k) => (p === false ? [oldIds[k]] : []));
if (precomputed.length < 50 || notPrecomputed.length < 4 * ROUNDS) throw new Error(`too few customers: ${precomputed.length} precomputed, ${notPrecomputed.length} not`);
console.log(`customers: ${precomputed.length} precomputed asked by the clients, ${notPrecomputed.length} not precomputed`);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

/** Storefront clients asking for precomputed customers, each on its schedule; latency from the scheduled time. */
function storefront(base: string) {
  const samples: { at: number; ms: number }[] = [];
  let running = true;
  let n = 0;
  /** One customer's answer: its latency, and whether it was a fallback (a cold start) rather than personal. */
  const ask = async (user: string) => {
    const t0 = performance.now();
    const res = await fetch(`${base}/v1/users/${encodeURIComponent(user)}/recommendations?k=10`, { headers: { authorization: `Bearer ${KEY}` } });
    const body = (await res.json()) as { fallback?: boolean };
    if (res.status !== 200) throw new Error(`${user}: HTTP ${res.status}`);
    return { ms: performance.now() - t0, fallback: body.fallback === true };
  };
  const shown = (a: { ms: number; fallback: boolean }) => `${a.ms.toFixed(0)} ms${a.fallback ? ' (fallback)' : ''}`;
  const clients = Array.from({ length: CLIENTS }, async () => {
    let next = performance.now();
    while (running) {
      const scheduled = next;
      await ask(precomputed[n++ % precomputed.length]);
      samples.push({ at: scheduled, ms: performance.now() - scheduled });
      next = Math.max(scheduled + EVERY_MS, performance.now() - 50);
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
  });
  return {
    ask,
    shown,
    between: (from: number, to: number) => samples.filter((s) => s.at >= from && s.at < to).map((s) => s.ms),
    stop: async () => {
      running = false;
      await Promise.all(clients);
    },
  };
}

console.log('\n## 2. A service starting: ready, then storefront traffic and one customer not precomputed');
console.log('| round | start to ready | customer not precomputed, 1 s after ready | then a new product\'s similar items | clients over the first 3 s p50 / p99 / max |');
console.log('|---|---:|---:|---:|---:|');
let asked = 0;
for (let r = 1; r <= ROUNDS; r++) {
  const port = await freePort();
  const started = performance.now();
  const server = spawnServer(port, { DATABASE_URL: PG, REDIS_URL: REDIS, API_KEYS: `read:${KEY}`, LOG_LEVEL: 'warn', SAMPLE_DATA: 'false', JOB_RUNNER: 'worker' });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitReady(`${base}/health/ready`, server, 180_000, 50);
    const ready = performance.now();
    const front = storefront(base);
    await new Promise((r) => setTimeout(r, 1000));
    const single = await front.ask(notPrecomputed[asked++]);
    const t1 = performance.now();
    const page = await fetch(`${base}/v1/items/${NEW_ITEM}/similar?k=10`, { headers: { authorization: `Bearer ${KEY}` } });
    await page.text();
    if (page.status !== 200) throw new Error(`similar items of ${NEW_ITEM}: HTTP ${page.status}`);
    const newItem = performance.now() - t1;
    await new Promise((r) => setTimeout(r, Math.max(0, ready + 3000 - performance.now())));
    const during = front.between(ready, ready + 3000);

    if (r < ROUNDS) {
      await front.stop();
      console.log(`| ${r} | ${(ready - started).toFixed(0)} ms | ${front.shown(single)} | ${newItem.toFixed(0)} ms | ${lat(during)} |`);
      continue;
    }
    console.log(`| ${r} | ${(ready - started).toFixed(0)} ms | ${front.shown(single)} | ${newItem.toFixed(0)} ms | ${lat(during)} |`);

    console.log('\n## 3. A new version published by another process while the service answers');
    console.log('| round | activated | customer not precomputed, 3 s after | clients from the activation to 1 s after that customer p50 / p99 / max |');
    console.log('|---|---|---:|---:|');
    const flips = [other.version, active.version];
    for (let f = 1; f <= ROUNDS; f++) {
      const version = flips[(f - 1) % 2];
      const t0 = performance.now();
      await store.activate(version);
      await new Promise((res) => setTimeout(res, 3000));
      const customer = await front.ask(notPrecomputed[asked++]);
      await new Promise((res) => setTimeout(res, 1000));
      console.log(`| ${f} | ${version} | ${front.shown(customer)} | ${lat(front.between(t0, performance.now()))} |`);
    }
    await front.stop();
  } finally {
    server.kill('SIGTERM');
    if (server.exitCode === null) await once(server, 'exit');
  }
}
await store.activate(active.version);
await store.close();
await db.query('DELETE FROM items WHERE id = $1', [NEW_ITEM]);
await db.close();
