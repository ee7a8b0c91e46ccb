import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateServerSupport, startPrivateRedis, type PrivateRedis } from '../../helpers/private-servers.js';
import { probeRedis } from '../../../src/store/redis-probe.js';

/**
 * The start's look at Redis tells a Redis that took the connection and said nothing (frozen with SIGSTOP: the
 * kernel's backlog accepts) from one that refuses connections and from one that answers: the server starts as if
 * a silent one were down instead of sitting through each command's timeout (src/server.ts).
 */
const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error('this test needs redis-server and REQUIRE_SERVICES=true');

describe.skipIf(!support.redis)("the start's look at Redis", () => {
  let redis: PrivateRedis;
  beforeAll(async () => void (redis = await startPrivateRedis()));
  afterAll(() => redis?.dispose());
  const target = () => ({ kind: 'single' as const, url: redis.url });

  it('When Redis answers, is frozen, then is down, Then it says silent only while frozen, and no refusal in any', async () => {
    expect(await probeRedis(target(), 1000)).toEqual({ refusal: null, silent: false });
    redis.freeze();
    try {
      expect(await probeRedis(target(), 300)).toEqual({ refusal: null, silent: true });
    } finally {
      redis.thaw();
    }
    expect(await probeRedis(target(), 1000)).toEqual({ refusal: null, silent: false });
    await redis.kill();
    expect(await probeRedis(target(), 1000)).toEqual({ refusal: null, silent: false });
    await redis.start();
  });
});
