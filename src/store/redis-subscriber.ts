import { Redis } from 'ioredis';
import { closeClient, isCluster, type RedisClient } from './redis-connection.js';

export interface SubscriberOptions {
  channels: string[];
  /** CLIENT SETNAME of the subscriber connection (operators and tests find it in CLIENT LIST). */
  connectionName: string;
  onMessage(channel: string, message: string): void;
  /** The subscription holds: from now on no message is missed. */
  onUp(): void;
  /** The subscription is lost (or could not be made): messages may be missed until the next onUp. */
  onDown(): void;
}

export interface Subscriber {
  close(): Promise<void>;
}

/** How often a cluster subscriber retries its node before it moves to another one. */
const NODE_ATTEMPTS = 3;

/**
 * One subscriber connection, kept subscribed across reconnects, that says when the subscription holds
 * and when it does not: the in-process live-events view may keep reads only while no change message
 * can be missed, so it needs both edges exactly.
 *
 * Single server: a duplicate of the client's connection, reconnecting forever. Redis Cluster: classic
 * PUBLISH reaches every node (the cluster bus forwards it), so one plain connection to any node hears
 * everything; if that node stays away for a few attempts the next known node is tried. (ioredis'
 * own cluster subscriber moves between nodes too, but says nothing when it does, which the view needs.)
 * Sharded pub/sub (SPUBLISH) would spare the cluster bus, but a subscriber per shard and slot
 * migrations would each need the same edge tracking; the message rate here (one per write of a user's
 * live events) does not call for it.
 */
export function createSubscriber(client: RedisClient, opts: SubscriberOptions): Subscriber {
  let closed = false;
  let nodeIndex = 0;
  let conn: Redis | null = null;

  const make = (): Redis => {
    if (!isCluster(client)) return client.duplicate({ autoResubscribe: false, lazyConnect: false, connectionName: opts.connectionName });
    const known = client.nodes('all').map((n) => ({ host: n.options.host, port: n.options.port }));
    const nodes = known.length > 0 ? known : (client as unknown as { startupNodes: { host: string; port: number }[] }).startupNodes;
    const node = nodes[nodeIndex++ % nodes.length];
    return new Redis({
      ...client.options.redisOptions,
      host: node.host,
      port: node.port,
      autoResubscribe: false,
      lazyConnect: false,
      connectionName: opts.connectionName,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      // After a few failed attempts the connection ends and the next node is tried (below).
      retryStrategy: (attempt) => (attempt > NODE_ATTEMPTS ? null : 100 * attempt),
    });
  };

  const open = () => {
    const c = make();
    conn = c;
    c.on('error', () => {});
    c.on('message', (channel: string, message: string) => opts.onMessage(channel, message));
    c.on('ready', () => {
      c.subscribe(...opts.channels).then(
        () => opts.onUp(),
        () => opts.onDown(),
      );
    });
    c.on('close', () => opts.onDown());
    c.once('end', () => {
      if (closed || conn !== c) return;
      setTimeout(() => {
        if (!closed && conn === c) open();
      }, 200).unref();
    });
  };
  open();

  return {
    async close() {
      closed = true;
      const c = conn;
      conn = null;
      if (c) await closeClient(c);
    },
  };
}
