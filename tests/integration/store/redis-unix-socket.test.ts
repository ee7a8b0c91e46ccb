/**
 * A Redis on the same host reached through its unix socket (`unix:///path/redis.sock?db=N`, credentials
 * as parameters): the model store, its large-artifact reads in parts and its subscriber, and the start's
 * check of the credentials, against a private redis-server that listens on a socket only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createModelStore } from '../../../src/store/create-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { redisTarget } from '../../../src/store/redis-connection.js';
import { redisRefusal } from '../../../src/store/redis-probe.js';
import { privateServerSupport } from '../../helpers/private-servers.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`these tests need ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

/** A base64-like password: its '+' must reach Redis as '+' (form decoding would make it a space), its '/' and '=' as they are. */
const PASSWORD = 's3c+ret/x==';

describe.skipIf(!support.redis)('REDIS_URL naming a unix socket', () => {
  let dir: string;
  let socket: string;
  let server: ChildProcess;
  let admin: Redis;
  let store: ModelStore | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'recsvc-redis-sock-'));
    socket = join(dir, 'redis.sock');
    // No TCP port at all: only the socket reaches it.
    server = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir, '--requirepass', PASSWORD], { stdio: 'ignore' });
    for (let n = 0; n < 100 && !existsSync(socket); n++) await new Promise((r) => setTimeout(r, 50));
    admin = new Redis({ path: socket, password: PASSWORD, db: 2, maxRetriesPerRequest: 0 });
    admin.on('error', () => {});
    // The socket file appears at bind(), before redis-server listens: a ping in between is refused (the client
    // reconnects by itself), so ask until one is answered.
    for (let n = 0; ; n++) {
      try {
        await admin.ping();
        break;
      } catch (err) {
        if (n >= 100) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }, 30_000);
  afterAll(async () => {
    await store?.close();
    admin?.disconnect();
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('When REDIS_URL is unix:// with a database and a password, Then the model store keeps its versions in that database through the socket, large artifacts too', async () => {
    const config = loadConfig({ REDIS_URL: `unix://${socket}?db=2&password=${PASSWORD}`, DATA_DIR: dir });
    store = await createModelStore(config);
    // Larger than a part, so the read goes in parts (GETRANGE) and the write through the uncopied SET.
    const big = new Uint8Array(9 * 1024 * 1024).map((_, i) => (i * 31) % 251);
    await store.putArtifact('v-sock', 'big', big);
    expect(Buffer.from((await store.getArtifact('v-sock', 'big'))!).equals(Buffer.from(big))).toBe(true);
    expect(await admin.dbsize()).toBeGreaterThan(0);
    await admin.select(0);
    expect(await admin.dbsize()).toBe(0);
    await admin.select(2);
  });

  it('When the socket\'s password is wrong, Then the start is refused naming the socket and not the password', async () => {
    const refusal = await redisRefusal(redisTarget({ REDIS_URL: `unix://${socket}?password=wrongpw` })!);
    expect(refusal).toContain(socket);
    expect(refusal).toMatch(/refused the credentials \(WRONGPASS.*as unix:\/\/\/path\/redis\.sock\?password=/);
    expect(refusal).not.toContain('wrongpw');
    expect(await redisRefusal(redisTarget({ REDIS_URL: `unix://${socket}?password=${PASSWORD}&db=5` })!)).toBeNull();
    // Percent-escaped, the same password.
    expect(await redisRefusal(redisTarget({ REDIS_URL: `unix://${socket}?password=${encodeURIComponent(PASSWORD)}` })!)).toBeNull();
    expect(await redisRefusal(redisTarget({ REDIS_URL: `unix://${socket}?password=${PASSWORD}&db=99` })!)).toMatch(/refused database 99/);
  });
});
