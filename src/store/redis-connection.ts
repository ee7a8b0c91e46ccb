import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';
import { within } from '../within-time.js';

/**
 * Where Redis is: one server (`redis://`, `rediss://`, `unix://` for a socket) or a Redis Cluster, named by REDIS_CLUSTER_NODES
 * (seed nodes `host:port,...`) or by a `redis+cluster://[user:password@]host:port` URL (`rediss+cluster://`
 * for TLS). Seeds only start the discovery: ioredis learns every master and slot from any one of them.
 */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: { host: string; port: number }[]; username?: string; password?: string; tls: boolean };

/**
 * How long a command on the model store's connections waits for its reply when REDIS_COMMAND_TIMEOUT_MS is
 * unset (ms): a Redis that stops answering costs a request this long, then it is answered as in an outage.
 */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 2000;

/** Either client: the model store and the rate limiter use only what both offer. */
export type RedisClient = Redis | Cluster;

const CLUSTER_PROTOCOLS = new Set(['redis+cluster:', 'rediss+cluster:']);

/** `host:port` (IPv6 in brackets), as REDIS_CLUSTER_NODES lists them. */
export function parseNode(text: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new Error(`expected host:port, got "${text.slice(0, 40)}"`);
  return { host: m[1], port };
}

/** True when the URL names a cluster (`redis+cluster://`). */
export const isClusterUrl = (url: string) => CLUSTER_PROTOCOLS.has(new URL(url).protocol);

/**
 * The Redis the configuration names, or null for the in-process store. REDIS_CLUSTER_NODES wins; a
 * REDIS_URL beside it then only gives the credentials and TLS (`rediss:`) of every node, and its host
 * is one more seed.
 */
export function redisTarget(config: Pick<Config, 'REDIS_URL'> & Partial<Pick<Config, 'REDIS_CLUSTER_NODES'>>): RedisTarget | null {
  const url = config.REDIS_URL ? new URL(config.REDIS_URL) : null;
  const seeds = (config.REDIS_CLUSTER_NODES ?? []).map(parseNode);
  if (!url && seeds.length === 0) return null;
  if (url?.protocol === 'unix:' && seeds.length > 0) throw new Error('a unix:// socket is one server, REDIS_CLUSTER_NODES a cluster: set one of them');
  if (url && seeds.length === 0 && !CLUSTER_PROTOCOLS.has(url.protocol)) return { kind: 'single', url: config.REDIS_URL! };
  // A cluster has database 0 only: a path naming another is a mistake, not something to ignore.
  if (url && url.pathname !== '' && url.pathname !== '/' && url.pathname !== '/0') {
    throw new Error(`a Redis Cluster has only database 0; remove "${url.pathname}" from REDIS_URL`);
  }
  const nodes = [...seeds];
  if (url?.hostname) nodes.push({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 6379) });
  const unique = [...new Map(nodes.map((n) => [`${n.host}:${n.port}`, n])).values()];
  return {
    kind: 'cluster',
    nodes: unique,
    username: url?.username ? decodeURIComponent(url.username) : undefined,
    password: url?.password ? decodeURIComponent(url.password) : undefined,
    tls: url?.protocol === 'rediss:' || url?.protocol === 'rediss+cluster:',
  };
}

/**
 * What ioredis connects a one-server target with: the URL itself (`redis://`, `rediss://`), or for a unix
 * socket (`unix:///run/redis/redis.sock?db=2`, credentials as `username` and `password` parameters, as
 * redis-py reads such URLs: a URL without a host has no place for them) the socket's options.
 */
export function serverOptions(url: string): string | RedisOptions {
  const u = new URL(url);
  if (u.protocol !== 'unix:') return url;
  const { path, db, username, password } = unixSocketOf(u);
  return { path, db, ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

/** What a `unix://` URL may say besides the socket's path. */
const UNIX_URL_PARAMS = new Set(['db', 'username', 'password']);

/**
 * The socket path and parameters of a `unix://` URL, percent-decoded. A `+` stays a `+` (the parameters
 * are not form data: a base64 password keeps its pluses, as in the userinfo of a redis:// URL). Throws,
 * saying what is wrong, on anything else: a host, a relative path, another parameter, a bad escape.
 */
export function unixSocketOf(u: URL): { path: string; db: number; username?: string; password?: string } {
  const decoded = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new Error('a unix socket URL has a "%" that is no escape (write a literal "%" as %25)');
    }
  };
  if (u.host !== '' || u.pathname.length < 2) throw new Error("a unix socket URL is unix:// and the socket's absolute path: unix:///run/redis/redis.sock");
  const params = new Map<string, string>();
  for (const pair of u.search.slice(1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decoded(eq === -1 ? pair : pair.slice(0, eq));
    if (!UNIX_URL_PARAMS.has(key)) throw new Error(`a unix socket URL takes only ${[...UNIX_URL_PARAMS].join(', ')} parameters, not "${key.slice(0, 40)}"`);
    params.set(key, eq === -1 ? '' : decoded(pair.slice(eq + 1)));
  }
  const db = params.get('db') ?? '0';
  if (!/^\d+$/.test(db)) throw new Error('db is a database number (unix:///run/redis/redis.sock?db=2)');
  return { path: decoded(u.pathname), db: Number(db), username: params.get('username') || undefined, password: params.get('password') || undefined };
}

/**
 * How long a connection may sit idle before the kernel starts probing its peer (ms), on every connection
 * opened here unless the caller says otherwise. A partition that drops packets can leave a socket with
 * nothing unacknowledged (a reply lost, or the subscriber, which only listens): only keepalive notices
 * the peer is gone, at the OS default after two hours. With this, Node's probes (one a second, ten) close
 * such a socket about 20 s into a partition and ioredis opens a new one. The same as PG_KEEPALIVE_IDLE_MS.
 */
export const REDIS_KEEPALIVE_IDLE_MS = 10_000;

/** The least time between two reconnects of one client for READONLY replies (ms): see reconnectOnReadOnly. */
export const READONLY_RECONNECT_GAP_MS = 1000;

/**
 * ioredis's `reconnectOnError` for one client: a READONLY reply (the server it reaches is a replica) drops
 * the connection and opens a new one, at most once per READONLY_RECONNECT_GAP_MS; the command itself
 * still fails with READONLY (the caller's retry sends it again). Why: in a failover behind one address (a
 * virtual IP, a DNS name, a proxy that follows the primary), the open connections stay with the old
 * primary, now a replica, and get READONLY for as long as they live, while a new connection reaches the
 * new primary. A training waited its minute on the old socket and failed (tests/integration/faults/
 * redis-failover.test.ts). A REDIS_URL that names a replica for good reconnects at most once a second.
 */
export function reconnectOnReadOnly(now: () => number = () => performance.now()): (err: Error) => boolean {
  let last = Number.NEGATIVE_INFINITY;
  return (err) => {
    if (!err.message.startsWith('READONLY') || now() - last < READONLY_RECONNECT_GAP_MS) return false;
    last = now();
    return true;
  };
}

/** When each client last reconnected for a READONLY reply (performance.now()). */
const readOnlyReconnects = new WeakMap<RedisClient, number>();

/**
 * Whether the client dropped its connection for a READONLY reply within the last two READONLY_RECONNECT_GAP_MS
 * (a command that failed then may have met that reconnect rather than a Redis away), once it is ready again;
 * false at once otherwise. The readiness ping tries again after it: a write probe's READONLY beside it (a
 * REDIS_URL naming a replica) must not make the store look down.
 */
export async function readyAfterReadOnlyReconnect(client: RedisClient): Promise<boolean> {
  const at = readOnlyReconnects.get(client);
  if (at === undefined || performance.now() - at > 2 * READONLY_RECONNECT_GAP_MS) return false;
  if (client.status === 'ready') return true;
  return readyOrEnd(client);
}

/** Resolves true at the client's next `ready`, false at its `end`, and leaves no listener behind either way. */
function readyOrEnd(client: RedisClient): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const onReady = () => settle(true);
    const onEnd = () => settle(false);
    const settle = (up: boolean) => {
      client.off('ready', onReady);
      client.off('end', onEnd);
      resolve(up);
    };
    client.once('ready', onReady);
    client.once('end', onEnd);
  });
}

/** A client of one server, from its URL (serverOptions); it reconnects on READONLY (reconnectOnReadOnly) unless `options` say otherwise. */
export function openServer(url: string, options: RedisOptions = {}): Redis {
  const server = serverOptions(url);
  const onReadOnly = reconnectOnReadOnly();
  let client: Redis | undefined;
  const reconnectOnError = (err: Error) => {
    const reconnect = onReadOnly(err);
    if (reconnect && client) {
      const c = client;
      readOnlyReconnects.set(c, performance.now());
      // The server is up: commands sent while the new connection opens wait for it (bounded by their
      // commandTimeout) instead of failing at once as in an outage (a client without an offline queue).
      const queued = c.options.enableOfflineQueue;
      if (queued === false) {
        c.options.enableOfflineQueue = true;
        const restore = () => {
          c.off('ready', restore);
          c.off('end', restore);
          c.options.enableOfflineQueue = queued;
        };
        c.once('ready', restore);
        c.once('end', restore);
      }
    }
    return reconnect;
  };
  const withKeepAlive = { keepAlive: REDIS_KEEPALIVE_IDLE_MS, reconnectOnError, ...options };
  client = typeof server === 'string' ? new Redis(server, withKeepAlive) : new Redis({ ...server, ...withKeepAlive });
  return client;
}

/**
 * A client for the target. `options` apply to every connection (for a cluster: to each node's).
 * A cluster client reconnects with the same capped backoff as `retryStrategy` when all nodes are gone,
 * and follows MOVED/ASK redirections itself (slots migrating, a replica promoted).
 */
export function openRedis(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  if (target.kind === 'single') return openServer(target.url, options);
  const redisOptions: RedisOptions = {
    keepAlive: REDIS_KEEPALIVE_IDLE_MS,
    ...options,
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
  const retry = options.retryStrategy;
  return new Cluster(target.nodes, {
    redisOptions,
    // Commands wait for the first slot map only; the store turns the queue off once ready (fail fast).
    enableOfflineQueue: options.enableOfflineQueue ?? true,
    clusterRetryStrategy: retry ? (times) => retry(times) : undefined,
    // A node that went away (failover) is looked up again soon rather than after the default 1 s + 5 s.
    slotsRefreshTimeout: 2000,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
  });
}

/** The client's own options (enableOfflineQueue lives there for both kinds). */
export const clientOptions = (client: RedisClient): { enableOfflineQueue?: boolean } => client.options;

export const isCluster = (client: RedisClient): client is Cluster => client instanceof Cluster;

/** How long closing a connection waits for Redis to acknowledge its QUIT before dropping the socket (ms). */
const QUIT_WAIT_MS = 1000;

/**
 * Closes a client: QUIT (commands already sent are answered first), or, when Redis does not acknowledge
 * it within QUIT_WAIT_MS, the socket dropped. A socket a partition left dead would otherwise hold a
 * shutdown until the command timeout (none on a subscriber): the service's graceful stop was killed at
 * its 13 s limit after a partition in bench/redis-hang.ts --mode partition.
 */
export async function closeClient(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  const quit = client.quit().then(() => true, () => false);
  if (!(await within(quit, QUIT_WAIT_MS, () => false))) client.disconnect();
}

/** True for the error ioredis gives a command that got no reply within `commandTimeout`. */
export const isCommandTimeout = (err: unknown): boolean => err instanceof Error && err.message.includes('Command timed out');

/**
 * A function that drops the client's socket and opens a new one, resolving true once the new connection
 * is ready (Redis answered its ready check), false when the client ends first. A client already between
 * connections is only waited for, and calls made while one is pending share it.
 *
 * Why: a partition that drops packets leaves the socket open and dead. Commands give up at their
 * timeout, but ioredis keeps the socket, and after the network heals it carries bytes again only at the
 * kernel's next retransmission (34-38 s after the heal for the model store, up to 88 s for the rate
 * limiter's connection, in a helper's partition test), while a new connection answers at once. While the
 * new one is not ready, commands of a client without an offline queue fail at once instead of waiting
 * out their timeout. Commands in flight on the old socket are rejected.
 *
 * One server only: a cluster's connections (one per node, kept by its pool) are left as they are and
 * this resolves false (a whole-client reconnect of a cluster was seen to leave a connection that
 * closing the client never released).
 */
export function reopener(client: RedisClient): () => Promise<boolean> {
  let pending: Promise<boolean> | null = null;
  return () => (pending ??= reopen(client).finally(() => (pending = null)));
}

function reopen(client: RedisClient): Promise<boolean> {
  if (isCluster(client) || client.status === 'end' || client.status === 'wait') return Promise.resolve(false);
  const settled = readyOrEnd(client);
  if (client.status === 'ready') client.disconnect(true);
  return settled;
}
