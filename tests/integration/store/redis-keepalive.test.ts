/**
 * A partition can leave a Redis connection idle with nothing unacknowledged (the subscriber only listens;
 * a reply may be lost): only TCP keepalive notices the peer is gone, at the OS default after two hours.
 * Every connection opened through redis-connection.ts probes after REDIS_KEEPALIVE_IDLE_MS instead.
 * Read off the kernel (ss), which is what the probes follow.
 */
import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { openServer, REDIS_KEEPALIVE_IDLE_MS } from '../../../src/store/redis-connection.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { keepaliveSeconds, ssAvailable } from '../../helpers/keepalive.js';
import { randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';

const redisAvailable = await serviceAvailable(REDIS_URL);
const overTcp = new URL(REDIS_URL).protocol !== 'unix:';

describe.skipIf(!redisAvailable || !ssAvailable || !overTcp)('TCP keepalive on Redis connections', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const close of closers) await close();
  });

  it('When a client is opened, Then the kernel probes its socket after REDIS_KEEPALIVE_IDLE_MS idle', async () => {
    const client = openServer(REDIS_URL);
    closers.push(() => client.quit());
    await client.ping();
    const seconds = keepaliveSeconds((client as Redis & { stream: Socket }).stream.localPort!);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(REDIS_KEEPALIVE_IDLE_MS / 1000);
  });

  it("When a model store subscribes to its channels, Then its subscriber's socket, which only listens, is probed as well", async () => {
    const prefix = `${randomPrefix('keepalive')}:`;
    const store = createRedisModelStore({ url: REDIS_URL, prefix });
    closers.push(() => store.close());
    await store.getActive();
    const admin = new Redis(REDIS_URL);
    closers.push(() => admin.quit());
    let line: string | undefined;
    for (let i = 0; i < 40 && !line; i++) {
      line = ((await admin.client('LIST')) as string).split('\n').find((l) => l.includes(` name=${prefix}live-events `));
      if (!line) await new Promise((r) => setTimeout(r, 50));
    }
    const port = Number(/ addr=[^ ]*:(\d+) /.exec(line ?? '')?.[1]);
    expect(port).toBeGreaterThan(0);
    const seconds = keepaliveSeconds(port);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(REDIS_KEEPALIVE_IDLE_MS / 1000);
  });
});
