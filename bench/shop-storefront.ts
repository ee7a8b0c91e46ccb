/**
 * A running service on a large shop: erasures while a storefront keeps asking, then the first audience,
 * a segment's members and the overview, each timed from outside over HTTP.
 *
 *   BASE_URL=http://127.0.0.1:3000 ADMIN_KEY=... DATABASE_URL=postgres://.../shop_db \
 *     npx tsx bench/shop-storefront.ts [--erase heavy,typical | --erase ID,ID] [--every 100] [--no-erase] [--limit 300]
 *
 * The service is started apart (`npm start` with DATABASE_URL and REDIS_URL of a copy of the shop's
 * database and model store: erasures change them). The bench reads from DATABASE_URL only which customers
 * to erase (`heavy`: the customer with the most purchase lines; `typical`: one with the median number)
 * and which to ask for meanwhile (other customers with purchases). While each erasure runs, a storefront
 * loop asks every `--every` ms (default 100), alternately, `GET /v1/users/:id` and
 * `GET /v1/users/:id/recommendations?k=10` of another customer, each request on its own schedule, and
 * counts the answers by status with their latency; so it does while each audience, list and overview is asked.
 * Erasures, audiences and lists are asked one at a time.
 */
import { loadavg } from 'node:os';
import pg from 'pg';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:3000';
const KEY = process.env.ADMIN_KEY;
if (!KEY || !process.env.DATABASE_URL) throw new Error('set ADMIN_KEY (an admin key of the service) and DATABASE_URL (its database)');
const every = Number(option('--every') ?? 100);
/** Longest wait for one answer (--limit seconds, default 300): a request still unanswered then is told as such. */
const LIMIT_MS = 1000 * Number(option('--limit') ?? 300);
const noErase = process.argv.includes('--no-erase');
const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
await db.connect();
async function pick(spec: string): Promise<string> {
  if (spec === 'heavy') return (await db.query<{ user_id: string }>('SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1')).rows[0].user_id;
  if (spec === 'typical') {
    const { rows } = await db.query<{ user_id: string }>(
      `WITH c AS (SELECT user_id, count(*) AS n FROM purchase_events GROUP BY user_id)
       SELECT user_id FROM c WHERE n = (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY n) FROM c) ORDER BY md5(user_id) LIMIT 1`,
    );
    return rows[0].user_id;
  }
  return spec;
}
const toErase = noErase ? [] : await Promise.all((option('--erase') ?? 'heavy,typical').split(',').map(pick));
const { rows: askedRows } = await db.query<{ user_id: string }>('SELECT user_id FROM purchase_events WHERE NOT (user_id = ANY($1::text[])) GROUP BY user_id ORDER BY md5(user_id) LIMIT 200', [toErase]);
const asked = askedRows.map((r) => r.user_id);
await db.end();

async function timed(method: string, path: string, body?: unknown): Promise<{ status: number; ms: number; json: unknown }> {
  const t = performance.now();
  let res: Response;
  try {
    res = await fetch(`${BASE}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(LIMIT_MS) });
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') return { status: 0, ms: performance.now() - t, json: `no answer within ${LIMIT_MS / 1000} s` };
    throw err;
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, ms: performance.now() - t, json };
}

/** The storefront: requests on a schedule every `every` ms, until stopped; status counts and latencies. */
function storefront() {
  const counts = new Map<string, number>();
  const latencies: number[] = [];
  let stop = false;
  let n = 0;
  const inFlight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    if (stop) return;
    const user = encodeURIComponent(asked[n % asked.length]);
    const path = n % 2 === 0 ? `/v1/users/${user}` : `/v1/users/${user}/recommendations?k=10`;
    const kind = n % 2 === 0 ? 'user' : 'recs';
    n++;
    const p = timed('GET', path).then(
      (r) => {
        const key = `${kind} ${r.status}${r.status === 503 ? ` ${(r.json as { error?: { code?: string } })?.error?.code ?? ''}` : ''}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        latencies.push(r.ms);
      },
      () => void counts.set(`${kind} refused`, (counts.get(`${kind} refused`) ?? 0) + 1),
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }, every);
  return async () => {
    stop = true;
    clearInterval(timer);
    await Promise.allSettled([...inFlight]);
    latencies.sort((a, b) => a - b);
    const q = (f: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))].toFixed(0) : '-');
    return { counts: Object.fromEntries([...counts].sort()), p50: q(0.5), p99: q(0.99), max: latencies.length ? latencies.at(-1)!.toFixed(0) : '-', requests: latencies.length };
  };
}

console.log(`service ${BASE}; load average ${load()}`);
// Warm: the storefront's first requests load the model; not counted.
for (const user of asked.slice(0, 4)) await timed('GET', `/v1/users/${encodeURIComponent(user)}/recommendations?k=10`);
{
  const stopQuiet = storefront();
  await new Promise((r) => setTimeout(r, 5000));
  console.log('storefront alone, 5 s:', JSON.stringify(await stopQuiet()));
}
for (const user of toErase) {
  const stop = storefront();
  const r = await timed('DELETE', `/v1/users/${encodeURIComponent(user)}`);
  console.log(`erase ${user}: ${r.status} in ${(r.ms / 1000).toFixed(2)} s; load average ${load()}`);
  console.log('  storefront meanwhile:', JSON.stringify(await stop()));
}
const item = option('--item');
const itemId = item ?? ((await timed('GET', '/v1/popular?k=1')).json as { items: { itemId: string }[] }).items[0].itemId;
for (const [what, method, path, body] of [
  ['first audience of 100', 'POST', '/v1/audiences', { itemIds: [itemId], k: 100 }],
  ['second audience of 100', 'POST', '/v1/audiences', { itemIds: [itemId], k: 100 }],
  ['champions, 100', 'GET', '/v1/segments/champions/users?limit=100'],
  ['champions, 100 again', 'GET', '/v1/segments/champions/users?limit=100'],
  ['segments report', 'GET', '/v1/segments'],
  ['overview', 'GET', '/v1/overview'],
  ['overview again', 'GET', '/v1/overview'],
] as const) {
  const stop = storefront();
  const r = await timed(method, path, body);
  console.log(`${what}: ${r.status} in ${(r.ms / 1000).toFixed(2)} s; load average ${load()}`);
  console.log('  storefront meanwhile:', JSON.stringify(await stop()));
}
