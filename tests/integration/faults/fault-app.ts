import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { createPgDb, type Db } from '../../../src/data/db.js';
import { openDatabase } from '../../../src/data/open-database.js';
import { createServices, type Services } from '../../../src/services.js';
import { createModelStore } from '../../../src/store/create-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { auth, KEYS } from '../../helpers/app.js';
import { startRedisProxy, type RedisProxy } from '../../helpers/redis-proxy.js';
import { privateServerSupport, startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from '../../helpers/private-servers.js';
import { seedShop, trainAndPublish } from '../serving/shop-fixture.js';

/** Whether this machine can run the fault tests (a private redis-server and Postgres); warns or throws when not. */
export async function faultTestsRunnable(): Promise<boolean> {
  const support = await privateServerSupport();
  const runnable = support.redis && support.postgres;
  if (!runnable) {
    const why = `fault tests need ${support.missing.join(', ')}`;
    if (process.env.REQUIRE_SERVICES === 'true') throw new Error(`${why} and REQUIRE_SERVICES=true`);
    console.warn(`skipping the fault tests: ${why}`);
  }
  return runnable;
}

export interface FaultApp {
  redis: PrivateRedis;
  pg: PrivatePostgres;
  db: Db;
  store: ModelStore;
  services: Services;
  app: FastifyInstance;
  /** http://127.0.0.1:PORT of the listening app. */
  base: string;
  /** The proxy the app reaches Redis through, when the test asked for one (`opts.redisProxy`). */
  proxy?: RedisProxy;
  /** The model version trained on the seeded shop. */
  version: string;
  /** Anything that would have ended the process: an 'error' event nobody listens to, a rejection nobody handles. */
  crashes: unknown[];
  dispose(): Promise<void>;
}

/**
 * The app over HTTP on a private Redis and a private Postgres that the test may kill, freeze and restart,
 * with the shop fixture seeded and a model trained and served. `wrapDb` wraps the database the services use
 * (a test that records the statements made); `wrapStore` likewise wraps the model store the services use (`store` below stays the
 * one opened). `dbConnectTimeoutMs` gives the services a Postgres pool of their own (the same database, already
 * migrated) whose wait for a connection or a pool slot is that long (`db` below stays the one opened, with the
 * product's limit): a test that sets it above its requests' give-up sees a call that waited for that limit as
 * a request with no answer, without timing anything itself.
 */
export async function startFaultApp(
  env: Record<string, string> = {},
  opts: { wrapDb?: (db: Db) => Db; wrapStore?: (store: ModelStore) => ModelStore; redisProxy?: boolean; dbConnectTimeoutMs?: number } = {},
): Promise<FaultApp> {
  const crashes: unknown[] = [];
  const onCrash = (err: unknown) => crashes.push(err);
  process.on('uncaughtExceptionMonitor', onCrash);
  process.on('unhandledRejection', onCrash);
  let redis: PrivateRedis | undefined;
  let proxy: RedisProxy | undefined;
  let pg: PrivatePostgres | undefined;
  let db: Db | undefined;
  let servicesDb: Db | undefined;
  let store: ModelStore | undefined;
  let app: FastifyInstance | undefined;
  // Everything made so far goes, whatever fails on the way (the servers are processes of their own).
  const dispose = async () => {
    try {
      redis?.thaw();
      await pg?.thaw();
      await app?.close();
      await store?.close();
      await servicesDb?.close();
      await db?.close();
      await proxy?.close();
    } finally {
      await Promise.all([redis?.dispose(), pg?.dispose()]);
      process.off('uncaughtExceptionMonitor', onCrash);
      process.off('unhandledRejection', onCrash);
    }
  };
  try {
    [redis, pg] = await Promise.all([startPrivateRedis(), startPrivatePostgres()]);
    if (opts.redisProxy) proxy = await startRedisProxy(redis.url);
    const config = loadConfig({
      API_KEYS: `read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}`,
      DATABASE_URL: pg.url,
      REDIS_URL: proxy?.url ?? redis.url,
      SAMPLE_DATA: 'false',
      LOG_LEVEL: 'silent',
      // One training thread unless a test asks for more, as in createTestApp (tests/helpers/app.ts).
      TRAIN_THREADS: '1',
      ...env,
    });
    db = await openDatabase(config);
    store = await createModelStore(config);
    if (opts.dbConnectTimeoutMs !== undefined) servicesDb = createPgDb(pg.url, { connectTimeoutMs: opts.dbConnectTimeoutMs });
    const used = servicesDb ?? db;
    const services = createServices({ config, db: opts.wrapDb ? opts.wrapDb(used) : used, store: opts.wrapStore ? opts.wrapStore(store) : store, storefront: true });
    app = await buildApp(services);
    await app.listen({ port: 0, host: '127.0.0.1' });
    await seedShop(services);
    const version = await trainAndPublish(services);
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    return { redis, proxy, pg, db, store, services, app, base, version, crashes, dispose };
  } catch (err) {
    await dispose().catch(() => {});
    throw err;
  }
}

/** Polls `probe` until `ok`, or throws after `ms` with the last value. */
export async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One request's outcome as a fault test records it. */
export interface Answer<B> {
  what: string;
  /** 0: no answer before the client gave up. */
  status: number;
  /** performance.now() when the request was sent. */
  sentAt: number;
  ms: number;
  retryAfter: string | null;
  /** The JSON body ({} for any other). */
  body: B;
}

/**
 * Sends one request to the app at `base` and records its outcome; one that gets no answer within `giveUpMs`
 * is recorded with status 0 instead of stalling the test.
 */
export async function ask<B>(
  base: string,
  what: string,
  path: string,
  init: { method?: string; scope?: keyof typeof KEYS; body?: unknown } = {},
  giveUpMs = 10_000,
): Promise<Answer<B>> {
  const sentAt = performance.now();
  try {
    const res = await fetch(base + path, {
      method: init.method ?? 'GET',
      headers: { ...(init.scope ? auth(init.scope) : {}), ...(init.body ? { 'content-type': 'application/json' } : {}) },
      body: init.body ? JSON.stringify(init.body) : undefined,
      signal: AbortSignal.timeout(giveUpMs),
    });
    const text = await res.text();
    const body = (text.startsWith('{') ? JSON.parse(text) : {}) as B;
    return { what, status: res.status, sentAt, ms: performance.now() - sentAt, retryAfter: res.headers.get('retry-after'), body };
  } catch {
    return { what, status: 0, sentAt, ms: performance.now() - sentAt, retryAfter: null, body: {} as B };
  }
}

/**
 * `target` (a Db or a ModelStore) with each call of its methods told to `started`, and how the call ended
 * (its promise settled, or it returned or threw) to what that returned; everything passed on unchanged.
 */
function watchCalls<T extends object>(target: T, started: (method: string) => { answered(): void; failed(message: string): void }): T {
  return new Proxy(target, {
    get(obj, key) {
      const value = Reflect.get(obj, key, obj) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const call = started(String(key));
        const answered = <V>(v: V): V => (call.answered(), v);
        const failed = (err: unknown): never => {
          call.failed(err instanceof Error ? err.message : String(err));
          throw err;
        };
        try {
          const out = (value as (...a: unknown[]) => unknown).apply(obj, args);
          return out instanceof Promise ? out.then(answered, failed) : answered(out);
        } catch (err) {
          return failed(err);
        }
      };
    },
  });
}

/**
 * The failures of every call made through `target` (a Db or a ModelStore), by message. A fault test reads
 * them to tell a call that failed at once (a refused or closed connection) from one that waited for a
 * timeout (`timedOut`), which is what "fails fast" means without a clock.
 */
export function recordFailures<T extends object>(target: T, into: string[]): T {
  return watchCalls(target, () => ({ answered: () => undefined, failed: (message) => void into.push(message) }));
}

/** One call made through a target wrapped by recordCalls: its method, and how it ended (neither while it waits). */
export interface RecordedCall {
  method: string;
  answered: boolean;
  /** The error's message, when it failed. */
  failure?: string;
}

/**
 * Every call made through `target`, in order, as it is made, and how it ended once it has. A call neither
 * answered nor failed is still waiting: a fault test reads that to tell, without a clock, that its requests
 * were answered while a call to a frozen server was still waiting for its reply.
 */
export function recordCalls<T extends object>(target: T, into: RecordedCall[]): T {
  return watchCalls(target, (method) => {
    const call: RecordedCall = { method, answered: false };
    into.push(call);
    return { answered: () => void (call.answered = true), failed: (message) => void (call.failure = message) };
  });
}

/**
 * Whether a failure's message is one of a call that waited for a limit: ioredis's commandTimeout and
 * connectTimeout, pg's connectionTimeoutMillis and pg-pool's wait for a slot, a statement given up at
 * PG_QUERY_TIMEOUT_MS, the hang breaker's skip (which follows timeouts).
 */
export const timedOut = (message: string): boolean => /timed out|timeout/i.test(message);
