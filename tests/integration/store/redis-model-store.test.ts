import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { setUncopied } from '../../../src/store/uncopied-set.js';
import { randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { modelStoreContract } from './model-store.contract.js';

// Throws instead of skipping when REQUIRE_SERVICES=true (CI).
const available = await serviceAvailable(REDIS_URL);
if (!available) console.warn(`Redis model store tests skipped: ${REDIS_URL} does not answer (set REQUIRE_SERVICES=true to fail instead)`);

describe.skipIf(!available)(available ? 'redis model store' : `redis model store (skipped: ${REDIS_URL} does not answer)`, () => {
  // Every store of this run lives under its own sub-prefix of one random run prefix, deleted afterwards.
  const runPrefix = `${randomPrefix('store')}:`;
  let redis: Redis;
  let n = 0;
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${runPrefix}*`, count: 1000 })) keys.push(...(batch as string[]));
    if (keys.length > 0) await redis.unlink(...keys);
    await redis.quit();
  });

  modelStoreContract(async (opts) => createRedisModelStore({ redis, prefix: `${runPrefix}${n++}:`, ...opts }));
  describe('without the in-process live events', () => {
    modelStoreContract(async (opts) => createRedisModelStore({ redis, prefix: `${runPrefix}${n++}:`, liveEventsCached: 0, ...opts }));
  });
  // As a service opens it (REDIS_URL): its own connections, and artifacts read on a worker thread.
  describe('on connections of its own', () => {
    // The reads would still pass on the calling thread if the worker failed: that must not go unseen.
    const readerFailures: Error[] = [];
    afterAll(() => expect(readerFailures).toEqual([]));
    modelStoreContract(async (opts) => createRedisModelStore({ url: REDIS_URL, prefix: `${runPrefix}${n++}:`, ...opts, onArtifactReaderFailed: (err) => void readerFailures.push(err) }));
  });

  it('When an artifact read in parts is rewritten meanwhile, Then every read is one whole write, never parts of two', { timeout: 120_000 }, async () => {
    const prefix = `${runPrefix}${n++}:`;
    // Parts of 2,500 bytes and 30 reads a phase: a read made while the rewrites go on takes up to 3 attempts of 1 + 3
    // parts' round trips + 1 count check, then one GET (16), so the 3 phases are at most 1,440 round trips. Parts of
    // 1,000 and 60 reads were up to 6,120 (34 a read); on a loaded machine each round trip waits for the test's thread,
    // the reader's and Redis to be scheduled: 25.7 s, then past the 30 s limit, at load 28-36. What is left costs about
    // 0.85 s of CPU (the reader's thread started and 90 reads), and took 17-22 s at load 28: hence 120 s, as the other
    // tests whose work is bounded but slowed some twentyfold by such a load.
    const reader = createRedisModelStore({ url: REDIS_URL, prefix, artifactPartBytes: 2500 });
    const writer = createRedisModelStore({ redis, prefix });
    // Two writes of one size and one of another: a read mixing parts shows as bytes that differ.
    const writes = [new Uint8Array(10_000).fill(1), new Uint8Array(10_000).fill(2), new Uint8Array(7_000).fill(3)];
    const whole = ['1:10000:true', '2:10000:true', '3:7000:true'];
    /** What 30 reads see while `rewrite(i)` writes again and again: one string per distinct read. */
    const readsDuring = async (version: string, rewrite: (i: number) => Promise<unknown>) => {
      let reading = true;
      const rewrites = (async () => {
        for (let i = 1; reading; i++) await rewrite(i);
      })();
      const seen = new Set<string>();
      for (let r = 0; r < 30; r++) {
        const read = (await reader.getArtifact(version, 'model'))!;
        seen.add(`${read[0]}:${read.byteLength}:${read.every((b) => b === read[0])}`);
      }
      reading = false;
      await rewrites;
      return [...seen];
    };
    try {
      // A version being written (putArtifact overwrites), and a published one an erasure redacts.
      await writer.putArtifact('draft', 'model', writes[0]);
      const drafted = await readsDuring('draft', (i) => writer.putArtifact('draft', 'model', writes[i % 3]));
      await writer.putArtifact('v1', 'model', writes[0]);
      await writer.publish({ version: 'v1', recipe: 'default', trainedAt: new Date().toISOString(), info: {} });
      const redacted = await readsDuring('v1', (i) => writer.redactArtifact('v1', 'model', writes[i % 3]));
      for (const seen of [drafted, redacted]) {
        expect(seen.filter((s) => !whole.includes(s))).toEqual([]);
        expect(seen.length).toBeGreaterThan(1);
      }
      // An erasure's patches in place (ALS's rows), the whole artifact filled with one value per patch: a
      // read across patches is made again too.
      await writer.putArtifact('v2', 'model', writes[0]);
      await writer.publish({ version: 'v2', recipe: 'default', trainedAt: new Date().toISOString(), info: {} });
      const fill = (v: number) => Array.from({ length: 10 }, (_, k) => ({ offset: 1000 * k, bytes: new Uint8Array(1000).fill(v) }));
      const patched = await readsDuring('v2', (i) => writer.patchArtifact!('v2', 'model', fill(1 + (i % 2))));
      expect(patched.filter((s) => !whole.includes(s))).toEqual([]);
      expect(patched.length).toBeGreaterThan(1);
      // A redaction of an artifact the version does not have writes nothing, not even its count.
      expect(await writer.redactArtifact('v1', 'missing', writes[0])).toBe(false);
      expect(await writer.patchArtifact!('v1', 'missing', fill(1))).toBe(false);
      expect(await redis.keys(`${prefix}*missing*`)).toEqual([]);
    } finally {
      await Promise.all([reader.close(), writer.close()]);
    }
  });

  it('When a large value is set without its copy, Then Redis holds it byte for byte with its expiry, and later commands get their replies', async () => {
    const key = `${runPrefix}uncopied`;
    const value = randomBytes(5 << 20);
    expect(await setUncopied(redis, key, value, 60_000)).toBe('OK');
    expect(await redis.ping()).toBe('PONG');
    expect(Buffer.compare((await redis.getBuffer(key))!, value)).toBe(0);
    const ttl = await redis.pttl(key);
    expect(ttl > 0 && ttl <= 60_000).toBe(true);
    expect(() => setUncopied(redis, key, value, 0)).toThrow(RangeError);
  });

  it('When another write is swapped in between a read\'s parts, Then the read is made again and gives one whole write', async () => {
    const prefix = `${runPrefix}${n++}:`;
    const writer = createRedisModelStore({ redis, prefix });
    // The reader's connection lands a whole other write just before its first part after the first.
    const client = new Redis(REDIS_URL);
    const getrange = client.getrangeBuffer.bind(client);
    let landed = false;
    client.getrangeBuffer = (async (...args: Parameters<typeof getrange>) => {
      if (!landed) {
        landed = true;
        await writer.putArtifact('v1', 'model', new Uint8Array(10_000).fill(2));
      }
      return getrange(...args);
    }) as typeof client.getrangeBuffer;
    const reader = createRedisModelStore({ redis: client, prefix, artifactPartBytes: 1000 });
    try {
      await writer.putArtifact('v1', 'model', new Uint8Array(10_000).fill(1));
      const read = (await reader.getArtifact('v1', 'model'))!;
      expect([read.byteLength, read[0], read.every((b) => b === read[0])]).toEqual([10_000, 2, true]);
      // The temporary key of each write is gone: the version holds its artifact and its count only.
      expect((await redis.keys(`${prefix}*`)).sort()).toEqual([`${prefix}{v:v1}:artifact-writes:model`, `${prefix}{v:v1}:artifact:model`, `${prefix}{v:v1}:keys`]);
      expect(await redis.pttl(`${prefix}{v:v1}:artifact:model`)).toBe(-1);
    } finally {
      await Promise.all([reader.close(), writer.close()]);
      client.disconnect();
    }
  });

  describe('live events kept in process', () => {
    /** Reads until `done` holds (a change message travels asynchronously), at most ~3 s. */
    const eventually = async (read: () => Promise<unknown[]>, done: (events: unknown[]) => boolean) => {
      let events = await read();
      for (let i = 0; i < 60 && !done(events); i++) {
        await new Promise((r) => setTimeout(r, 50));
        events = await read();
      }
      return events;
    };
    /**
     * True once `count` stores of this prefix hold their subscription: their connection's channels (changes, erasures,
     * activations), subscribed in one command. (This looked for exactly two channels, which no store has had since the
     * activations' channel came: every wait ran its ~3 s out and went on unsubscribed.)
     */
    const subscribed = async (prefix: string, count: number) => {
      const list = (await redis.client('LIST')) as string;
      return list.split('\n').filter((line) => line.includes(`name=${prefix}live-events`) && Number(/ sub=(\d+) /.exec(line)?.[1]) > 0).length >= count;
    };
    /**
     * Waits (at most ~10 s) until `count` stores of this prefix are subscribed and, given `keeper`, until it keeps a read
     * in process (its view is on once its own subscribe is answered, just after the server shows it), and fails otherwise.
     * The read kept is of a user no test reads, so the tests' own first reads are still theirs.
     */
    const listening = async (prefix: string, count: number, keeper?: ModelStore) => {
      const up = async () => {
        if (!(await subscribed(prefix, count))) return false;
        if (!keeper) return true;
        await keeper.getUserEvents('probe');
        return keeper.peekUserEvents?.('probe') !== undefined;
      };
      let ready = await up();
      for (let i = 0; i < 200 && !ready; i++) {
        await new Promise((r) => setTimeout(r, 50));
        ready = await up();
      }
      expect(ready, `${count} stores of ${prefix} subscribed${keeper ? ', the first keeping reads' : ''}`).toBe(true);
    };

    it('When another process writes or erases a user\'s events, Then this process reads the change; its own writes at once', async () => {
      const prefix = `${runPrefix}live-a:`;
      const [a, b] = [createRedisModelStore({ url: REDIS_URL, prefix }), createRedisModelStore({ url: REDIS_URL, prefix, liveEventsCached: 0 })];
      try {
        await listening(prefix, 2, a);
        expect(await a.getUserEvents('u')).toEqual([]);
        expect(await a.getUserEvents('u')).toEqual([]);
        await b.appendUserEvents('u', [{ itemId: 'i1', ts: 1 }]);
        expect(await eventually(() => a.getUserEvents('u'), (e) => e.length === 1)).toEqual([{ itemId: 'i1', ts: 1 }]);
        // A malformed message (from anyone with access to Redis) empties the view instead of breaking it.
        await redis.rpush(`${prefix}user:u:events`, '3|i3');
        for (const junk of ['[1,2]', '{"u":1}', 'not json']) await redis.publish(`${prefix}user-events:changed`, junk);
        expect(await eventually(() => a.getUserEvents('u'), (e) => e.length === 2)).toHaveLength(2);
        await redis.del(`${prefix}user:u:events`);
        await b.appendUserEvents('u', [{ itemId: 'i1', ts: 1 }]);
        expect(await eventually(() => a.getUserEvents('u'), (e) => e.length === 1)).toEqual([{ itemId: 'i1', ts: 1 }]);
        await a.appendUserEvents('u', [{ itemId: 'i2', ts: 2 }]);
        expect(await a.getUserEvents('u')).toEqual([
          { itemId: 'i1', ts: 1 },
          { itemId: 'i2', ts: 2 },
        ]);
        const erased: string[] = [];
        a.onUserErased?.((id) => erased.push(id));
        await b.deleteUser('u');
        expect(await eventually(() => a.getUserEvents('u'), (e) => e.length === 0)).toEqual([]);
        // The other process hears of the erasure, to forget what it keeps of the user.
        expect(await eventually(async () => erased, (e) => e.length > 0)).toEqual(['u']);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('When a writer does not announce its write (an older version in a rolling deploy), Then a kept read expires', async () => {
      const prefix = `${runPrefix}live-c:`;
      const a = createRedisModelStore({ url: REDIS_URL, prefix, liveEventsTtlMs: 300 });
      try {
        await listening(prefix, 1, a);
        expect(await a.getUserEvents('u')).toEqual([]);
        await redis.rpush(`${prefix}user:u:events`, '1|i1');
        expect(await a.getUserEvents('u')).toEqual([]);
        expect(await eventually(() => a.getUserEvents('u'), (e) => e.length === 1)).toEqual([{ itemId: 'i1', ts: 1 }]);
      } finally {
        await a.close();
      }
    });

    it('When the change subscription drops and a change is missed, Then nothing kept from before is served after it', async () => {
      const prefix = `${runPrefix}live-b:`;
      const [a, b] = [createRedisModelStore({ url: REDIS_URL, prefix }), createRedisModelStore({ url: REDIS_URL, prefix, liveEventsCached: 0 })];
      try {
        await listening(prefix, 2, a);
        expect(await a.getUserEvents('u')).toEqual([]);
        // Kill the subscriber connections of this prefix, write while they are away (the message is lost), then read.
        const lines = ((await redis.client('LIST')) as string).split('\n').filter((l) => l.includes(`name=${prefix}live-events`));
        for (const line of lines) await redis.client('KILL', 'ID', /id=(\d+)/.exec(line)![1]);
        await b.appendUserEvents('u', [{ itemId: 'i1', ts: 1 }]);
        expect(await eventually(() => a.getUserEvents('u'), (e) => e.length === 1)).toEqual([{ itemId: 'i1', ts: 1 }]);
        // Subscribed again: later changes arrive as messages.
        await listening(prefix, 2);
        expect(await a.getUserEvents('u')).toHaveLength(1);
        await b.appendUserEvents('u', [{ itemId: 'i2', ts: 2 }]);
        expect(await eventually(() => a.getUserEvents('u'), (e) => e.length === 2)).toHaveLength(2);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });

  it('When a version is written, Then all its keys share one hash tag and deleting it leaves no key behind', async () => {
    const prefix = `${runPrefix}tags:`;
    const store = createRedisModelStore({ redis, prefix });
    await store.putArtifact('a', 'model', new Uint8Array([1]));
    await store.putEntries('a', 'users', [['u', new Uint8Array([2])]]);
    await store.publish({ version: 'a', recipe: 'r', trainedAt: '2026-01-01T00:00:00.000Z', info: {} });
    await store.putArtifact('b', 'model', new Uint8Array([3]));
    const versionKeys = (await redis.keys(`${prefix}{v:a}*`)).sort();
    expect(versionKeys).toEqual([`${prefix}{v:a}:artifact-writes:model`, `${prefix}{v:a}:artifact:model`, `${prefix}{v:a}:keys`, `${prefix}{v:a}:table:users`]);

    expect(await store.deleteVersion('b')).toBe(true);
    expect(await redis.keys(`${prefix}{v:b}*`)).toEqual([]);
    await store.close();
    // The caller's connection stays open: the store did not create it.
    expect(await redis.ping()).toBe('PONG');
  });

  it('When the store opens its own connection from a URL, Then close() quits it', async () => {
    const store = createRedisModelStore({ url: REDIS_URL, prefix: `${runPrefix}own:` });
    expect(await store.ping()).toBe(true);
    await store.close();
    expect(await store.ping()).toBe(false);
  });
});
