/**
 * A Redis that answers and refuses what REDIS_URL says: a missing or wrong password, a database number
 * past its last (ioredis then stays on database 0 without a word, where another deployment's models may
 * be). At start that is a configuration error naming REDIS_URL; a password changed under a running
 * process is an outage whose cause is told. Real replies from a private Redis with a password.
 */
import { createServer, type Server } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config.js';
import { dependencyFailure } from '../../../src/errors.js';
import { createModelStore } from '../../../src/store/create-model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { redisRefusal } from '../../../src/store/redis-probe.js';
import { freePort, privateServerSupport, startPrivateRedis, type PrivateRedis } from '../../helpers/private-servers.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`these tests need ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

describe.skipIf(!support.redis)('a Redis that refuses what REDIS_URL says', () => {
  let redis: PrivateRedis;
  let admin: Redis;
  const at = (auth: string, db = '') => `redis://${auth}127.0.0.1:${redis.port}${db}`;
  const single = (url: string) => ({ kind: 'single' as const, url });
  beforeAll(async () => {
    redis = await startPrivateRedis();
    admin = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    admin.on('error', () => {});
    await admin.config('SET', 'requirepass', 's3cret');
  }, 30_000);
  afterAll(async () => {
    admin?.disconnect();
    await redis?.dispose();
  });

  it('When the password is missing or wrong, Then the start is refused naming REDIS_URL and never the password', async () => {
    expect(await redisRefusal(single(at('')))).toMatch(/^Redis at 127\.0\.0\.1:\d+ refused the credentials \(NOAUTH .*REDIS_URL/);
    const wrong = await redisRefusal(single(at(':wrongpw@')));
    expect(wrong).toMatch(/refused the credentials \(WRONGPASS/);
    expect(wrong).not.toContain('wrongpw');
    expect(await redisRefusal(single(at('nobody:s3cret@')))).toMatch(/WRONGPASS/);
    // A cluster's seed is asked with the cluster's credentials.
    expect(await redisRefusal({ kind: 'cluster', nodes: [{ host: '127.0.0.1', port: redis.port }], password: 'nope', tls: false })).toMatch(/WRONGPASS/);
  });

  it('When the database number is past the last one, Then the start is refused; a database that exists and a Redis not answering are not', async () => {
    expect(await redisRefusal(single(at(':s3cret@', '/99')))).toMatch(/refused database 99 \(ERR DB index is out of range\)/);
    expect(await redisRefusal(single(at(':s3cret@', '/3')))).toBeNull();
    expect(await redisRefusal(single(at(':s3cret@')))).toBeNull();
    // Nothing listening: waited for later, as a Redis still starting is.
    expect(await redisRefusal(single(`redis://127.0.0.1:${await freePort()}/0`))).toBeNull();
    const store = createModelStore({ REDIS_URL: at(':s3cret@', '/99'), DATA_DIR: '/nonexistent', MODEL_VERSIONS_KEPT: 5 });
    await expect(store).rejects.toBeInstanceOf(ConfigError);
    await expect(store).rejects.toThrow(/REDIS_URL: Redis at .* refused database 99/);
  });

  it('When the password changes under a running store, Then its commands fail as in an outage and the refusal is told', async () => {
    const told: string[] = [];
    const store = await createModelStore(
      { REDIS_URL: at(':s3cret@', '/2'), DATA_DIR: '/nonexistent', MODEL_VERSIONS_KEPT: 5 },
      { prefix: 'refusals:', log: (msg, err) => told.push(`${msg}: ${(err as Error).message}`) },
    );
    try {
      expect(await store.getActive()).toBeNull();
      await admin.config('SET', 'requirepass', 'rotated');
      await admin.auth('rotated');
      await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      for (let i = 0; i < 100 && told.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(told[0]).toMatch(/refused the credentials in REDIS_URL.*WRONGPASS/);
      const failed = await store.getActive().then(() => null, (err: unknown) => err);
      expect(dependencyFailure(failed)?.code).toBe('DEPENDENCY_UNAVAILABLE');
    } finally {
      await store.close();
      await admin.config('SET', 'requirepass', 's3cret');
      await admin.auth('s3cret');
    }
  });

  /** A TCP server on a free port that answers every connection with `reply` (nothing when null). */
  async function fakeRedis(reply: ((line: string) => string) | null): Promise<{ url: string; close: () => Promise<void> }> {
    const port = await freePort();
    const sockets = new Set<import('node:net').Socket>();
    const server: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      if (reply) socket.on('data', (chunk) => socket.write(reply(chunk.toString())));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const close = () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      });
    return { url: `redis://:TopSecretPw@127.0.0.1:${port}/0`, close };
  }

  it('When a Redis accepts connections and never answers, Then the start is not held: it goes on as for a Redis that is down', async () => {
    const silent = await fakeRedis(null);
    try {
      expect(await redisRefusal(single(silent.url), 300)).toBeNull();
    } finally {
      await silent.close();
    }
  });

  it('When an older Redis answers ERR invalid password, Then the start is refused and what is logged at run time holds no password', async () => {
    const old = await fakeRedis(() => '-ERR invalid password\r\n');
    try {
      expect(await redisRefusal(single(old.url))).toMatch(/refused the credentials \(ERR invalid password\)/);
      const told: unknown[] = [];
      const store = createRedisModelStore({ url: old.url, prefix: 'refusals:', onCredentialsRefused: (err) => told.push(err) });
      for (let i = 0; i < 100 && told.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      await store.close();
      expect(told.length).toBeGreaterThan(0);
      for (const err of told) {
        expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain('TopSecretPw');
        expect(err).not.toHaveProperty('command');
      }
    } finally {
      await old.close();
    }
  });
});
