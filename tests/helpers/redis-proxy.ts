import net from 'node:net';

type State = 'pass' | 'dead' | 'held';

interface Pair {
  client: net.Socket;
  server: net.Socket;
  state: State;
  /** Bytes of a held connection, each way, delivered at the thaw. */
  toServer: Buffer[];
  toClient: Buffer[];
}

export interface RedisProxy {
  /** The proxy's URL, with the target's database path. */
  url: string;
  /**
   * Packets dropped without a reset: the connections held and every new one (the proxy still accepts it)
   * stay open and pass nothing.
   */
  partition(): void;
  /** New connections pass again; those of the partition stay dead (a kernel retransmits to them only much later). */
  heal(): void;
  /** Redis paused (SIGSTOP): every connection's bytes, and new connections' (the kernel still accepts them), are held. */
  freeze(): void;
  /** Redis resumed: what was held is delivered, and bytes pass again. */
  thaw(): void;
  /** Every reply reaches its client `ms` later than Redis sent it (0: at once), in order: a slow link or a Redis slow on every reply. */
  delay(ms: number): void;
  /** New connections go to `target` (a failover behind a virtual IP or a DNS name); open ones stay with the old server. */
  retarget(target: string): void;
  /** Chunks a client wrote into a dead connection whose text matches `pattern` (e.g. a command's name). */
  lostWrites(pattern: RegExp): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of Redis that does to its connections what a network or a paused server does, so a
 * test can watch a client meet a socket that stays open and silent, which a stopped Redis (refused
 * connections, closed sockets) never shows.
 */
export async function startRedisProxy(target: string): Promise<RedisProxy> {
  let to = new URL(target);
  let delayMs = 0;
  const pairs = new Set<Pair>();
  let mode: State = 'pass';
  const lost: string[] = [];

  const deliver = (pair: Pair, bytes: Buffer, toServer: boolean) => {
    if (pair.state === 'pass' && !toServer && delayMs > 0) setTimeout(() => pair.client.write(bytes), delayMs);
    else if (pair.state === 'pass') (toServer ? pair.server : pair.client).write(bytes);
    else if (pair.state === 'held') (toServer ? pair.toServer : pair.toClient).push(bytes);
    else if (toServer) lost.push(bytes.toString('latin1'));
  };

  const proxy = net.createServer((client) => {
    const server = net.connect(Number(to.port || 6379), to.hostname);
    const pair: Pair = { client, server, state: mode, toServer: [], toClient: [] };
    pairs.add(pair);
    client.on('data', (bytes) => deliver(pair, bytes, true));
    server.on('data', (bytes) => deliver(pair, bytes, false));
    for (const s of [client, server]) s.on('error', () => {});
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('close', drop);
    server.on('close', drop);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as net.AddressInfo).port;

  return {
    url: `redis://127.0.0.1:${port}${to.pathname}`,
    partition() {
      mode = 'dead';
      for (const p of pairs) p.state = 'dead';
    },
    heal() {
      mode = 'pass';
    },
    freeze() {
      mode = 'held';
      for (const p of pairs) if (p.state === 'pass') p.state = 'held';
    },
    thaw() {
      mode = 'pass';
      for (const p of pairs) {
        if (p.state !== 'held') continue;
        p.state = 'pass';
        for (const b of p.toServer.splice(0)) p.server.write(b);
        for (const b of p.toClient.splice(0)) p.client.write(b);
      }
    },
    delay(ms) {
      delayMs = ms;
    },
    retarget(next) {
      to = new URL(next);
    },
    lostWrites: (pattern) => lost.filter((text) => pattern.test(text)).length,
    async close() {
      for (const p of pairs) [p.client, p.server].forEach((s) => s.destroy());
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}
