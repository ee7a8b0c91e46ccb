import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';

/**
 * Where Redis is: one server (`redis://`, `rediss://`, `unix://` for a socket) or a Redis Cluster, named by REDIS_CLUSTER_NODES
 * (seed nodes `host:port,...`) or by a `redis+cluster://[user:password@]host:port` URL (`rediss+cluster://`
 * for TLS). Seeds only start the discovery: ioredis learns every master and slot from any one of them.
 */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: { host: string; port: number }[]; username?: string; password?: string; tls: boolean };

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

/** A client of one server, from its URL (serverOptions). */
export function openServer(url: string, options: RedisOptions = {}): Redis {
  const server = serverOptions(url);
  return typeof server === 'string' ? new Redis(server, options) : new Redis({ ...server, ...options });
}

/**
 * A client for the target. `options` apply to every connection (for a cluster: to each node's).
 * A cluster client reconnects with the same capped backoff as `retryStrategy` when all nodes are gone,
 * and follows MOVED/ASK redirections itself (slots migrating, a replica promoted).
 */
export function openRedis(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  if (target.kind === 'single') return openServer(target.url, options);
  const redisOptions: RedisOptions = {
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
