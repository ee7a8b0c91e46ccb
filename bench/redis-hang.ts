/**
 * What a Redis that stops answering costs the storefront over a long hang: the service (src/server.ts,
 * its own process) on Postgres and a private redis-server (started and removed here; needs
 * redis-server), which is frozen with SIGSTOP (connections accepted, nothing answered) for `--freeze`
 * seconds while a storefront client asks for a customer's recommendations every 100 ms, a customer it
 * has not asked for before (so each request reads the customer's entry from Redis), then thawed.
 *
 *   npx tsx bench/redis-hang.ts [--freeze 30]
 *
 * The service bootstraps itself on the bundled Online Retail sample into the Postgres schema
 * `bench_redis_hang` (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test; dropped at the
 * end). Prints how many requests of the freeze took over 1 s and when, and their latency quantiles.
 */
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { createPgDb } from '../src/data/db.js';
import { startPrivateRedis } from '../tests/helpers/private-servers.js';
import { optionTaker } from './lib/online-retail.js';
import { spawnServer, waitReady } from './lib/service-process.js';

const option = optionTaker(process.argv.slice(2));
const FREEZE_S = Number(option('--freeze') ?? 30);
const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = 'bench_redis_hang';
const KEY = 'bench-redis-hang-key-0123456789ab';
const EVERY_MS = 100;

const admin = createPgDb(PG, { max: 1 });
await admin.exec(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
await admin.exec(`CREATE SCHEMA ${SCHEMA}`);
const url = new URL(PG);
url.searchParams.set('options', `-c search_path=${SCHEMA}`);
const redis = await startPrivateRedis();
const port = 39_000 + Math.floor(Math.random() * 1000);
const service = spawnServer(port, { DATABASE_URL: url.toString(), REDIS_URL: redis.url, API_KEYS: `read:${KEY}`, LOG_LEVEL: 'warn', JOB_RUNNER: 'inline' });
const base = `http://127.0.0.1:${port}`;
try {
  await waitReady(`${base}/health/ready`, service, 300_000);
  const db = createPgDb(PG, { max: 1, schema: SCHEMA });
  const customers = (await db.query<{ user_id: string }>('SELECT DISTINCT user_id FROM purchase_events ORDER BY user_id')).rows.map((r) => r.user_id);
  await db.close();
  const needed = Math.ceil(((FREEZE_S + 4) * 1000) / EVERY_MS);
  if (customers.length < needed) throw new Error(`${customers.length} customers, ${needed} needed: shorten --freeze`);
  console.log(`# redis-hang: ${new Date().toISOString()}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ${customers.length} customers, frozen ${FREEZE_S} s`);

  const samples: { at: number; ms: number; status: number; fallback: boolean }[] = [];
  let n = 0;
  let running = true;
  const client = (async () => {
    let next = performance.now();
    while (running) {
      const scheduled = next;
      const res = await fetch(`${base}/v1/users/${encodeURIComponent(customers[n++])}/recommendations?k=10`, { headers: { authorization: `Bearer ${KEY}` } });
      const body = (await res.json()) as { fallback?: boolean };
      samples.push({ at: scheduled, ms: performance.now() - scheduled, status: res.status, fallback: body.fallback === true });
      next = Math.max(scheduled + EVERY_MS, performance.now() - 50);
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
  })();
  await new Promise((r) => setTimeout(r, 2000));
  const frozenAt = performance.now();
  redis.freeze();
  await new Promise((r) => setTimeout(r, FREEZE_S * 1000));
  redis.thaw();
  const thawedAt = performance.now();
  await new Promise((r) => setTimeout(r, 2000));
  running = false;
  await client;

  const during = samples.filter((s) => s.at >= frozenAt && s.at < thawedAt);
  const slow = during.filter((s) => s.ms > 1000);
  const sorted = during.map((s) => s.ms).sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(0);
  console.log(`requests during the freeze: ${during.length}; statuses ${[...new Set(during.map((s) => s.status))].join(', ')}; fallbacks ${during.filter((s) => s.fallback).length}`);
  console.log(`latency p50 / p99 / max: ${q(0.5)} / ${q(0.99)} / ${sorted[sorted.length - 1].toFixed(0)} ms`);
  console.log(`over 1 s: ${slow.length}, at ${slow.map((s) => `${((s.at - frozenAt) / 1000).toFixed(1)} s`).join(', ')} into the freeze`);
  const after = samples.filter((s) => s.at >= thawedAt);
  console.log(`after the thaw: ${after.length} requests, ${after.filter((s) => !s.fallback).length} personal, max ${Math.max(...after.map((s) => s.ms)).toFixed(0)} ms`);
} finally {
  service.kill('SIGTERM');
  if (service.exitCode === null) await once(service, 'exit');
  await redis.dispose();
  await admin.exec(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.close();
}
