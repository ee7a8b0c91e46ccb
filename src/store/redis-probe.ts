import { Redis, type RedisOptions } from 'ioredis';
import { openServer, type RedisTarget } from './redis-connection.js';
import { within } from '../within-time.js';

/** Replies of a Redis that answered and refused the credentials it was given (or wanted some). */
export const CREDENTIALS_REFUSED = /^(NOAUTH|WRONGPASS)\b|invalid password|invalid username-password/i;

/**
 * What a Redis that answers says against the target's settings, checked once at start: a message when it
 * refuses the credentials (a wrong or missing password) or the database number (`/16` on a Redis of 16
 * databases: ioredis then stays on database 0 without a word, where another deployment's models may be),
 * null when it accepts them or does not answer within `timeoutMs` (a Redis still starting is waited for
 * as before). Never names the password.
 */
export async function redisRefusal(target: RedisTarget, timeoutMs = 2000): Promise<string | null> {
  return (await probeRedis(target, timeoutMs)).refusal;
}

/** What the start's look at Redis found (probeRedis). */
export interface RedisProbe {
  /** What it refused of the target's settings (redisRefusal), or null. */
  refusal: string | null;
  /**
   * It took the connection and did not answer within the probe's time (a Redis paused with SIGSTOP, swapping, a
   * proxy whose backend is gone): unlike one that refuses connections, every command to it waits for its
   * timeout. A start that knows treats it as down at once (the model store skips it until it answers a ping).
   */
  silent: boolean;
}

/**
 * redisRefusal's look, telling also whether Redis took the connection and then said nothing within `timeoutMs`
 * for its reply (`silent`) (the connection itself is given `connectTimeout`, default 2 s).
 */
export async function probeRedis(target: RedisTarget, timeoutMs = 2000, connectTimeout = 2000): Promise<RedisProbe> {
  const once: RedisOptions = { lazyConnect: true, connectTimeout, commandTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false };
  let host: string;
  let client: Redis;
  if (target.kind === 'single') {
    const url = new URL(target.url);
    host = url.protocol === 'unix:' ? url.pathname : `${url.hostname}:${url.port || 6379}`;
    client = openServer(target.url, once);
  } else {
    // A cluster's nodes share its credentials: the first seed tells.
    const [{ host: name, port }] = target.nodes;
    host = `${name}:${port}`;
    client = new Redis({ host: name, port, username: target.username, password: target.password, ...(target.tls ? { tls: {} } : {}), ...once });
  }
  let last: Error | undefined;
  let connected = false;
  let replyTimer: NodeJS.Timeout | undefined;
  client.on('error', (err: Error) => (last = err));
  // connectTimeout ends only the TCP and TLS part, and a Redis that accepts and never answers (paused, a proxy
  // whose backend is gone) or is loading a large dataset would hold the start: from the socket's connection on,
  // its reply is waited for `timeoutMs` (ioredis's own ready check outlasts its commandTimeout).
  const noReply = new Promise<null>((resolve) =>
    client.once('connect', () => {
      connected = true;
      replyTimer = setTimeout(() => resolve(null), timeoutMs);
    }),
  );
  try {
    const refusal = await within(Promise.race([refusalOf(client, host, () => last), noReply]), connectTimeout + timeoutMs, () => null);
    // A reply of any kind (ready, or an error Redis sent: a refusal) is an answer; a command timeout is not.
    const replied = client.status === 'ready' || last?.name === 'ReplyError' || refusal !== null;
    return { refusal, silent: connected && !replied };
  } finally {
    clearTimeout(replyTimer);
    client.disconnect();
  }
}

async function refusalOf(client: Redis, host: string, lastError: () => Error | undefined): Promise<string | null> {
  try {
    await client.connect();
    // The database ioredis selected on connecting: its refusal was only an 'error' event.
    const db = client.options.db ?? 0;
    if (db !== 0) {
      const refused = await client.select(db).then(
        () => null,
        (err: Error) => err.message,
      );
      if (refused) return `Redis at ${host} refused database ${db} (${refused}); Redis has databases 0 to its "databases" setting - 1 (16 by default)`;
    }
    return null;
  } catch {
    const last = lastError();
    if (last && CREDENTIALS_REFUSED.test(last.message)) {
      const form = client.options.path ? 'unix:///path/redis.sock?password=...[&username=...]' : 'redis://[user]:password@host:port/db';
      return `Redis at ${host} refused the credentials (${last.message.split('.')[0]}): set the password (and user) in REDIS_URL as ${form}`;
    }
    // Not answering (refused connection, timeout, unknown host): waited for, as at any other time.
    return null;
  }
}
