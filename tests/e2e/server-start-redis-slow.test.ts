import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateServerSupport, type PrivatePostgres, type PrivateRedis } from '../helpers/private-servers.js';
import { startAfterFirstStart } from '../helpers/first-start-state.js';
import { startRedisProxy, type RedisProxy } from '../helpers/redis-proxy.js';
import { getAs, serverStarter, until, withoutRequestLines } from '../helpers/server-process.js';

/**
 * A server started while its Redis answers every command, each reply 700 ms late (a proxy that delays
 * replies: a congested link, a Redis swapping), on a shop whose model that Redis holds. Every call works,
 * slowly: the service should be slow, not unready. Behaviour, not durations (those are printed for bench/README).
 */
const support = await privateServerSupport();
const runnable = support.postgres && support.redis;
if (!runnable && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

const SLOW = 120_000;
const ADMIN = 'admin-key-for-a-redis-slow-start';
const REPLY_DELAY_MS = 700;
/** A customer of the first-start sample: the trained model knows them. */
const CUSTOMER = '17420';

/** Each log line (request lines left out) as `+ms msg`, counted from the configuration line; and the probes' 200s after it. */
function startTimeline(output: string, answered: Array<{ time: number; msg: string }>): string {
  const lines = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l): { time?: number; msg?: string } => {
      try {
        return JSON.parse(l);
      } catch {
        return {};
      }
    })
    .filter((l) => typeof l.time === 'number' && l.msg !== undefined && !l.msg.startsWith('request'));
  const from = lines.find((l) => l.msg === 'configuration')?.time ?? lines[0]?.time ?? 0;
  return [...lines, ...answered].sort((a, b) => a.time! - b.time!).map((l) => `  +${l.time! - from} ms ${l.msg!.slice(0, 140)}`).join('\n');
}

describe.skipIf(!runnable)('a server started while every Redis reply comes late', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let proxy: RedisProxy;
  const children: ChildProcess[] = [];
  const dataDir = mkdtempSync(path.join(tmpdir(), 'recsvc-redis-slow-start-'));

  const start = serverStarter(() => ({ DATABASE_URL: pg.url, REDIS_URL: proxy.url, API_KEYS: `admin:${ADMIN}`, DATA_DIR: dataDir, TRAIN_THREADS: '1', LOG_LEVEL: 'info' }), children);
  const get = getAs(ADMIN);
  const log = withoutRequestLines;

  beforeAll(async () => {
    // The shop's first start (the sample imported and trained into Redis): copies of the kept state it leaves
    // (tests/helpers/first-start-state.ts), made once by a real first start.
    ({ pg, redis } = await startAfterFirstStart(dataDir));
    proxy = await startRedisProxy(redis.url);
    proxy.delay(REPLY_DELAY_MS);
  }, SLOW * 2);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await proxy?.close();
    await pg?.dispose();
    await redis?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('When it starts, Then it becomes ready while the store stays slow, and its log says readiness waits on a slow store', async () => {
    const t0 = Date.now();
    const api = await start({ SAMPLE_DATA: 'false' });
    const timeline: string[] = [];
    const answered: Array<{ time: number; msg: string }> = [];
    const at = async (route: string) => {
      const r = await until(() => get(api.base, route), (a) => a.status === 200, SLOW);
      answered.push({ time: Date.now(), msg: `${route} answered 200` });
      timeline.push(`${route} 200 after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return r;
    };
    // Before, readiness stayed 503 (activeModel: false) for minutes: its check took two round trips, 1.4 s, past its 1 s.
    const [ready, serving] = await Promise.all([at('/health/ready'), at('/health/serving')]);
    // For bench/README ("A Redis slow on every reply"): when each probe first answered 200.
    console.log(`reply delay ${REPLY_DELAY_MS} ms: ${timeline.join(', ')}`);
    // And the server's own lines, timed from its configuration line (the start's work, the spawn's cost left out).
    console.log(`the server's log from its configuration line:\n${startTimeline(api.output, answered)}`);
    expect(ready.status, log(api.output)).toBe(200);
    expect(ready.body?.checks).toMatchObject({ modelStore: true, activeModel: true });
    expect(serving.status).toBe(200);
    expect(log(api.output)).toContain('readiness: checking the active model took');
    // Slow, not silent: its replies come within a command's timeout, so it is used from the start. Before, the start's
    // look at Redis gave it 500 ms, took it for silent, skipped its calls and held its versions until a background retry.
    expect(log(api.output)).not.toContain('did not answer within');
    expect(log(api.output)).not.toContain('the model store does not answer');
    // The customer is answered from the model, slowly.
    const answer = await get(api.base, `/v1/users/${CUSTOMER}/recommendations?k=3`);
    expect(answer.status).toBe(200);
    expect(answer.body?.modelVersion).toEqual(expect.any(String));
  }, SLOW * 3);
});
