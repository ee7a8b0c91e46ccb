/**
 * Redis answers some commands with an error that means "not now" rather than "wrong": a replica written
 * to during a failover (READONLY), a replica cut off from its primary (MASTERDOWN), a server loading its
 * data after a restart (LOADING), a slot being moved (TRYAGAIN). They must count as the store being
 * unavailable (a 503 with Retry-After, a retried publish), not as a bug. Real replies from a private
 * primary and replica where they can be provoked here.
 */
import { Redis, ReplyError } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Counter, Histogram } from 'prom-client';
import { dependencyFailure } from '../../../src/errors.js';
import { instrumentModelStore } from '../../../src/store/instrumented-model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { privateServerSupport, startPrivateRedis, type PrivateRedis } from '../../helpers/private-servers.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`these tests need ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

describe.skipIf(!support.redis)('Redis replies that mean unavailable', () => {
  let primary: PrivateRedis;
  let replica: PrivateRedis;
  let client: Redis;
  beforeAll(async () => {
    [primary, replica] = await Promise.all([startPrivateRedis(), startPrivateRedis()]);
    client = new Redis(replica.url, { maxRetriesPerRequest: 0 });
    await client.replicaof('127.0.0.1', primary.port);
  }, 30_000);
  afterAll(async () => {
    client?.disconnect();
    await Promise.all([primary?.dispose(), replica?.dispose()]);
  });

  const replyOf = (command: Promise<unknown>) => command.then(() => null, (err: unknown) => err as Error);

  it('When a replica is written to (a failover in progress), Then its READONLY reply is a dependency failure', async () => {
    const err = await replyOf(client.set('k', 'v'));
    expect(err?.message).toMatch(/^READONLY /);
    expect(dependencyFailure(err)?.code).toBe('DEPENDENCY_UNAVAILABLE');
  });

  it("When the service's model store gets such a reply, Then its error names the store and is still a dependency failure (a 503, a retried write)", async () => {
    const store = instrumentModelStore(createRedisModelStore({ url: replica.url, prefix: 'replies:' }), {
      duration: new Histogram({ name: 'replies_store_seconds', help: 'h', labelNames: ['operation'], registers: [] }),
      errors: new Counter({ name: 'replies_store_errors', help: 'h', labelNames: ['operation'], registers: [] }),
      where: `redis://127.0.0.1:${replica.port}`,
    });
    try {
      const err = await replyOf(store.putArtifact('v1', 'a', new Uint8Array([1])));
      expect(err?.message).toMatch(new RegExp(`^model store at redis://127\\.0\\.0\\.1:${replica.port}: READONLY `));
      expect(dependencyFailure(err)?.code).toBe('DEPENDENCY_UNAVAILABLE');
      // Its own LOADING reply as well: the prefix must not hide what the reply says.
      expect(dependencyFailure(new Error('model store at redis://x:1: LOADING Redis is loading', { cause: new ReplyError('LOADING Redis is loading the dataset in memory') }))?.code).toBe('DEPENDENCY_UNAVAILABLE');
    } finally {
      await store.close();
    }
  });

  it('When a replica that must not serve stale data loses its primary, Then its MASTERDOWN reply is a dependency failure', async () => {
    await client.config('SET', 'replica-serve-stale-data', 'no');
    await primary.kill();
    const err = await replyOf(client.get('k'));
    expect(err?.message).toMatch(/^MASTERDOWN /);
    expect(dependencyFailure(err)?.code).toBe('DEPENDENCY_UNAVAILABLE');
  });

  it('When Redis is loading its data or moving a slot, Then LOADING and TRYAGAIN replies are dependency failures; other replies are not', () => {
    // The replies as Redis words them, parsed into the error ioredis raises for any error reply.
    expect(dependencyFailure(new ReplyError('LOADING Redis is loading the dataset in memory'))?.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(dependencyFailure(new ReplyError('TRYAGAIN Multiple keys request during rehashing of slot'))?.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(dependencyFailure(new ReplyError("WRONGTYPE Operation against a key holding the wrong kind of value"))).toBeNull();
    // The same words inside another error's message are not a Redis reply.
    expect(dependencyFailure(new Error('READONLY field in a request body'))).toBeNull();
  });
});
