/**
 * Windowed popularity at scale: `GET /v1/popular?windowDays=N` (counted by Postgres, not the model) against an
 * imported schema, e.g. one kept by `npm run bench:scale -- --copies 10 --steps import --keep`.
 *
 *   npx tsx bench/popular-window.ts --schema bench_scale_10x_abc123 [--windows 7,30,90,365] [--repeats 5] [--expiry 61]
 *
 * Starts the real service (src/server.ts, as `npm start`; it applies any migration the schema lacks first, and
 * the time to ready shows it) on DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) with that
 * schema, and Redis BENCH_POPULAR_REDIS_URL (default redis://127.0.0.1:6379/13: with no model there every
 * popularity answer is Postgres's). For each window and filter (none, the two largest countries, the largest
 * category when items have categories, a price range), asks once (first: nothing of that question kept yet)
 * and `--repeats` more times (repeated: the kept lists), sequentially. Then, once `--expiry` seconds (default 61:
 * the service keeps a question's lists 60 s) have passed since the last of those asks, asks each question once
 * more in the same order (after expiry: the first ask after its kept lists' minute; `--expiry 0` leaves it out).
 * Prints one markdown table; a 503 shows its time and the start of its message.
 */
import { once } from 'node:events';
import net from 'node:net';
import { loadavg } from 'node:os';
import { createPgDb } from '../src/data/db.js';
import { spawnServer, waitReady } from './lib/service-process.js';

const argv = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : undefined;
};
const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.BENCH_POPULAR_REDIS_URL ?? 'redis://127.0.0.1:6379/13';
const KEY = 'bench-popular-read-key-0123456789';
const schema = option('schema');
if (!schema || !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error('--schema NAME: an imported schema (bench:scale --keep)');
const windows = (option('windows') ?? '7,30,90,365').split(',').map(Number);
const repeats = Number(option('repeats') ?? 5);
const expirySeconds = Number(option('expiry') ?? 61);
const dbUrl = `${PG}${PG.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

async function main() {
  const db = createPgDb(PG, { schema, max: 1 });
  const countries = await db.query<{ c: string }>(
    "SELECT attributes ->> 'country' AS c FROM users WHERE attributes ? 'country' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2",
  );
  const category = await db.query<{ c: string }>('SELECT c FROM items, unnest(categories) c GROUP BY c ORDER BY count(*) DESC, c LIMIT 1');
  const counts = await db.query<{ purchases: string; users: string; items: string }>(
    'SELECT (SELECT count(*) FROM purchase_events)::text AS purchases, (SELECT count(*) FROM users)::text AS users, (SELECT count(*) FROM items)::text AS items',
  );
  await db.close();
  const filters: { label: string; query: string }[] = [{ label: 'everyone', query: '' }];
  for (const { c } of countries.rows) filters.push({ label: `country:${c}`, query: `&attribute=${encodeURIComponent(`country:${c}`)}` });
  if (category.rows[0]) filters.push({ label: `category ${category.rows[0].c}`, query: `&category=${encodeURIComponent(category.rows[0].c)}` });
  filters.push({ label: 'price 1-5', query: '&minPrice=1&maxPrice=5' });

  const port = await freePort();
  const started = performance.now();
  const server = spawnServer(port, {
    DATABASE_URL: dbUrl,
    REDIS_URL: REDIS,
    API_KEYS: `read:${KEY}`,
    LOG_LEVEL: 'warn',
    SAMPLE_DATA: 'false',
    JOB_RUNNER: 'worker',
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    // Live, not ready: ready waits for an active model, and this bench runs without one.
    await waitReady(`${base}/health/live`, server, 600_000);
    const readyMs = performance.now() - started;
    const ask = async (path: string): Promise<{ ms: number; status: number; note: string }> => {
      const t0 = performance.now();
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${KEY}` } });
      const body = await res.text();
      const took = performance.now() - t0;
      const note = res.status === 200 ? '' : ` (${res.status}: ${(JSON.parse(body) as { error: { message: string } }).error.message.slice(0, 60)}...)`;
      return { ms: took, status: res.status, note };
    };
    console.log(`${counts.rows[0].purchases} purchases, ${counts.rows[0].users} customers, ${counts.rows[0].items} products; service ready in ${(readyMs / 1000).toFixed(1)} s`);
    const rows: { w: number; label: string; path: string; first: string; repeated: string }[] = [];
    for (const w of windows) {
      for (const f of filters) {
        const path = `/v1/popular?k=10&windowDays=${w}${f.query}`;
        const first = await ask(path);
        const again: number[] = [];
        let note = '';
        for (let r = 0; r < repeats; r++) {
          const a = await ask(path);
          again.push(a.ms);
          if (a.status !== 200) note = a.note;
        }
        rows.push({ w, label: f.label, path, first: `${ms(first.ms)}${first.note}`, repeated: `${ms(median(again))}${note}` });
        console.error(`[${w} ${f.label}] first ${rows.at(-1)!.first}, repeated ${rows.at(-1)!.repeated}`);
      }
    }
    const expired: string[] = [];
    if (expirySeconds > 0) {
      console.error(`waiting ${expirySeconds} s for every kept list to pass its minute ...`);
      await new Promise((r) => setTimeout(r, expirySeconds * 1000));
      for (const row of rows) {
        const a = await ask(row.path);
        expired.push(`${ms(a.ms)}${a.note}`);
      }
    }
    console.log('\n| windowDays | filter | first (ms) | repeated, median (ms) | after expiry (ms) |\n|---:|---|---:|---:|---:|');
    rows.forEach((r, n) => console.log(`| ${r.w} | ${r.label} | ${r.first} | ${r.repeated} | ${expired[n] ?? '-'} |`));
    console.log(`\nload average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    server.kill('SIGTERM');
    if (server.exitCode === null) await once(server, 'exit');
  }
}

await main();
