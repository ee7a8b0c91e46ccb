/**
 * A partition that drops packets leaves the store's socket open and dead: after the network heals, the old
 * socket answers only when the kernel retransmits (34-38 s in a helper's partition test), while a new
 * connection answers at once. Here a proxy in front of Redis plays the dead socket: it stops passing bytes
 * on the connections it holds, keeps them open, and passes new ones. The hang breaker that starts skipping
 * the store has it reconnect, so the store answers again over a new connection.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANG_TRIP, withHangBreaker } from '../../../src/store/hang-breaker.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';

const redisAvailable = await serviceAvailable(REDIS_URL);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP proxy to Redis whose `deaden()` makes the connections it holds pass nothing, open and silent. */
async function deadeningProxy(target: URL) {
  const held: { client: net.Socket; server: net.Socket; dead: boolean }[] = [];
  const proxy = net.createServer((client) => {
    const server = net.connect(Number(target.port || 6379), target.hostname);
    const pair = { client, server, dead: false };
    held.push(pair);
    client.on('data', (bytes) => pair.dead || server.write(bytes));
    server.on('data', (bytes) => pair.dead || client.write(bytes));
    for (const s of [client, server]) s.on('error', () => {});
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    url: `redis://127.0.0.1:${(proxy.address() as net.AddressInfo).port}${target.pathname}`,
    deaden: () => held.forEach((p) => (p.dead = true)),
    live: () => held.filter((p) => !p.dead && !p.client.destroyed).length,
    close: async () => {
      for (const p of held) [p.client, p.server].forEach((s) => s.destroy());
      await new Promise((r) => proxy.close(r));
    },
  };
}

describe.skipIf(!redisAvailable)('a model store whose connection died without a reset', () => {
  let proxy: Awaited<ReturnType<typeof deadeningProxy>>;
  let store: ModelStore;
  beforeAll(async () => {
    proxy = await deadeningProxy(new URL(REDIS_URL));
    store = withHangBreaker(createRedisModelStore({ url: proxy.url, prefix: `${randomPrefix('dead')}:` }));
  });
  afterAll(async () => {
    await store?.close().catch(() => {});
    await proxy?.close();
  });

  it('When its calls time out and the breaker starts skipping it, Then it reconnects and answers again over a new connection', async () => {
    expect(await store.ping()).toBe(true);
    proxy.deaden();
    // HANG_TRIP calls that give up at the command timeout (2 s) start the skip.
    const calls = await Promise.allSettled(Array.from({ length: HANG_TRIP }, () => store.getActive()));
    expect(calls.map((c) => (c.status === 'rejected' ? String(c.reason) : 'answered'))).toEqual(Array(HANG_TRIP).fill('Error: Command timed out'));
    // The old socket stays dead for good here; only a new connection can answer.
    let answered = false;
    for (let i = 0; i < 30 && !answered; i++) {
      answered = await store.ping();
      if (!answered) await sleep(500);
    }
    expect(answered).toBe(true);
    expect(proxy.live()).toBeGreaterThan(0);
    expect(await store.getActive()).toBeNull();
  }, 60_000);
});
