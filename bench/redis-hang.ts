/**
 * What a Redis that stops answering costs the storefront over a long hang: the service (src/server.ts,
 * its own process) on Postgres and a private redis-server (started and removed here; needs
 * redis-server), which is frozen with SIGSTOP (connections accepted, nothing answered) for `--freeze`
 * seconds while a storefront client asks for a customer's recommendations every 100 ms, a customer it
 * has not asked for before (so each request reads the customer's entry from Redis), then thawed.
 *
 * `--mode partition` puts a proxy (tests/helpers/redis-proxy.ts) between the service and Redis and, for
 * the same time, has it play a partition that drops packets without a reset: the connections it holds
 * and new ones stay open and pass nothing; at the heal new connections pass and the old ones stay dead
 * (a real network would revive them at the kernel's next retransmission: 34-38 s after the heal, seen
 * in a helper's network-namespace test). The service's rate limits count in Redis here (1,000 a
 * minute: a lease of one count, a Redis round trip, per request), and the bench says when the
 * limiter's counter moves again after the heal.
 *
 *   npx tsx bench/redis-hang.ts [--freeze 30] [--mode freeze|partition] [--after 2]
 *
 * The service bootstraps itself on the bundled Online Retail sample into the Postgres schema
 * `bench_redis_hang` (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test; dropped at the
 * end). Prints how many requests of the freeze took over 1 s and when, and their latency quantiles.
 */
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { createPgDb } from '../src/data/db.js';
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../tests/helpers/private-servers.js';
import { startRedisProxy, type RedisProxy } from '../tests/helpers/redis-proxy.js';
import { optionTaker } from './lib/online-retail.js';
import { spawnServer, waitReady } from './lib/service-process.js';

const option = optionTaker(process.argv.slice(2));
const FREEZE_S = Number(option('--freeze') ?? 30);
const MODE = option('--mode') ?? 'freeze';
if (MODE !== 'freeze' && MODE !== 'partition') throw new Error('--mode is freeze or partition');
/** Seconds the client goes on asking after the thaw or heal. */
const AFTER_S = Number(option('--after') ?? 2);
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
const proxy: RedisProxy | null = MODE === 'partition' ? await startRedisProxy(redis.url) : null;
const port = 39_000 + Math.floor(Math.random() * 1000);
const limits: Record<string, string> = MODE === 'partition' ? { RATE_LIMIT_PER_MINUTE: '1000' } : {};
const service = spawnServer(port, { DATABASE_URL: url.toString(), REDIS_URL: proxy?.url ?? redis.url, API_KEYS: `read:${KEY}`, LOG_LEVEL: 'warn', JOB_RUNNER: 'inline', ...limits });
const direct = new Redis(redis.url);
/** What the rate limiter has counted in Redis so far, over every bucket. */
const limiterCount = async () => {
  const keys = await direct.keys('recsvc:rate-limit:*');
  return keys.length ? (await direct.mget(...keys)).reduce((sum, v) => sum + Number(v ?? 0), 0) : 0;
};
const base = `http://127.0.0.1:${port}`;
try {
  await waitReady(`${base}/health/ready`, service, 300_000);
  const db = createPgDb(PG, { max: 1, schema: SCHEMA });
  const customers = (await db.query<{ user_id: string }>('SELECT DISTINCT user_id FROM purchase_events ORDER BY user_id')).rows.map((r) => r.user_id);
  await db.close();
  const needed = Math.ceil(((FREEZE_S + 2 + AFTER_S) * 1000) / EVERY_MS);
  if (customers.length < needed) throw new Error(`${customers.length} customers, ${needed} needed: shorten --freeze`);
  console.log(`# redis-hang: ${new Date().toISOString()}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ${customers.length} customers, ${MODE === 'freeze' ? 'frozen' : 'partitioned'} ${FREEZE_S} s`);

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
  if (proxy) proxy.partition();
  else redis.freeze();
  await new Promise((r) => setTimeout(r, FREEZE_S * 1000));
  const countedBefore = proxy ? await limiterCount() : 0;
  if (proxy) proxy.heal();
  else redis.thaw();
  const thawedAt = performance.now();
  let limiterBackAt: number | null = null;
  while (performance.now() - thawedAt < AFTER_S * 1000) {
    if (limiterBackAt === null && proxy && (await limiterCount()) > countedBefore) limiterBackAt = performance.now();
    await new Promise((r) => setTimeout(r, 100));
  }
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
  const firstPersonal = after.find((s) => !s.fallback);
  const since = (at: number | undefined | null) => (at == null ? `not within ${AFTER_S} s` : `${((at - thawedAt) / 1000).toFixed(1)} s`);
  console.log(`after the ${MODE === 'freeze' ? 'thaw' : 'heal'}: ${after.length} requests, ${after.filter((s) => !s.fallback).length} personal (the first asked ${since(firstPersonal && firstPersonal.at)} after), max ${Math.max(...after.map((s) => s.ms)).toFixed(0)} ms`);
  if (proxy) console.log(`rate limiter counting in Redis again: ${since(limiterBackAt)} after the heal`);
} finally {
  service.kill('SIGTERM');
  if (service.exitCode === null) await once(service, 'exit');
  direct.disconnect();
  await proxy?.close();
  await redis.dispose();
  await admin.exec(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.close();
}
