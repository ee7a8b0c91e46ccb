import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Redis and Postgres servers of a test's own, on free loopback ports, that the test may kill and
 * restart (fault tests). Never the shared servers: other suites and agents use those.
 */
const run = promisify(execFile);

/** A free loopback port (the OS picks one; it is released at once for the server to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port (polling), or rejects after `ms`. */
async function accepting(port: number, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing accepts connections on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function onPath(binary: string): Promise<string | null> {
  try {
    return (await run('sh', ['-c', `command -v ${binary}`])).stdout.trim() || null;
  } catch {
    return null;
  }
}

/** Where initdb and pg_ctl are: Debian keeps them off PATH, in /usr/lib/postgresql/VERSION/bin. */
async function postgresBinDir(): Promise<string | null> {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return path.join(root, versions[0], 'bin');
  }
  const initdb = await onPath('initdb');
  return initdb ? path.dirname(initdb) : null;
}

/** Which private servers this machine can start: the binaries are there (and, as root, a postgres user). */
export async function privateServerSupport(): Promise<{ redis: boolean; redisCluster: boolean; postgres: boolean; missing: string[] }> {
  const missing: string[] = [];
  const redis = (await onPath('redis-server')) !== null;
  if (!redis) missing.push('redis-server');
  // A cluster is made by redis-cli --cluster create (Redis 5+).
  const redisCluster = redis && (await onPath('redis-cli')) !== null;
  if (redis && !redisCluster) missing.push('redis-cli');
  let postgres = (await postgresBinDir()) !== null;
  if (!postgres) missing.push('initdb/pg_ctl');
  if (postgres && process.getuid?.() === 0 && (await osUser('postgres')) === null) {
    postgres = false;
    missing.push('a "postgres" user to run initdb as (root cannot)');
  }
  return { redis, redisCluster, postgres, missing };
}

async function osUser(name: string): Promise<{ uid: number; gid: number } | null> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
    return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  } catch {
    return null;
  }
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** Its working directory: where SAVE writes dump.rdb, and where a start loads it from. */
  dir: string;
  /** SIGKILL: no goodbye to clients, nothing saved (it saves nothing anyway). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** SIGSTOP: the port still accepts connections (the kernel's backlog), but nothing answers. */
  freeze(): void;
  /** SIGCONT: answers again, with everything it held. */
  thaw(): void;
  dispose(): Promise<void>;
}

/**
 * `redis-server --port N --save "" --appendonly no` in a temp dir, with `args` after (`--replicaof HOST PORT`, say);
 * `rdb`: a dump copied in first, which the server loads as it starts (a kept state, first-start-state.ts).
 */
export async function startPrivateRedis(args: string[] = [], opts: { rdb?: string } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'recsvc-redis-'));
  if (opts.rdb) copyFileSync(opts.rdb, path.join(dir, 'dump.rdb'));
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args], {
      stdio: 'ignore',
    });
    await accepting(port);
  };
  const kill = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    kill,
    start,
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    async dispose() {
      child?.kill('SIGCONT');
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivatePostgres {
  /** Database `postgres`, user `postgres`, trust auth. */
  url: string;
  port: number;
  /** The cluster's data directory. */
  data: string;
  /**
   * `pg_ctl stop -m immediate`: every backend is killed, connections drop mid-transaction. `fast`: a clean shutdown,
   * the data directory checkpointed (what a copy of it is taken from, first-start-state.ts).
   */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  start(): Promise<void>;
  /**
   * SIGSTOP to the server and every backend: connections stay open and new ones are taken into the
   * kernel's backlog, but no statement is answered (a paused VM, a partition that drops packets).
   */
  freeze(): Promise<void>;
  /** SIGCONT: every held statement goes on where it stopped. */
  thaw(): Promise<void>;
  dispose(): Promise<void>;
}

const INITDB_ARGS = ['-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C'];
/** Beside the PGlite snapshot (services.ts): this checkout's, kept between runs. */
const INITDB_CACHE = fileURLToPath(new URL('../../node_modules/.cache/recsvc-pg-initdb/', import.meta.url));
let template: Promise<string> | undefined;

/**
 * A data directory as `initdb INITDB_ARGS` makes it, kept in this checkout's node_modules/.cache under a name
 * made of initdb's version and the arguments (another version or argument makes another): each private cluster
 * starts from a copy of it. initdb took 1-8 s a cluster (load average 2-20) where the copy takes well under one,
 * and the suite starts about twenty. initdb runs in the temporary directory (as root, the postgres user may not
 * reach the checkout); the result is copied in aside and renamed, so a reader never sees half of it (of two
 * writers, the second's copy is dropped). A failure is not kept: the next cluster tries again.
 */
function initdbTemplate(bin: string, pg: (tool: string, args: string[]) => Promise<unknown>, asRoot: boolean): Promise<string> {
  template ??= (async () => {
    const version = (await run(path.join(bin, 'initdb'), ['--version'])).stdout.trim();
    const key = createHash('sha256').update(version).update(INITDB_ARGS.join(' ')).digest('hex').slice(0, 16);
    const cached = path.join(INITDB_CACHE, key);
    if (existsSync(cached)) return cached;
    const dir = mkdtempSync(path.join(tmpdir(), 'recsvc-pg-initdb-'));
    try {
      if (asRoot) {
        const user = await osUser('postgres');
        if (!user) throw new Error('running as root needs a "postgres" user for initdb');
        chownSync(dir, user.uid, user.gid);
      }
      await pg('initdb', ['-D', path.join(dir, 'data'), ...INITDB_ARGS]);
      mkdirSync(INITDB_CACHE, { recursive: true });
      const partial = `${cached}.${process.pid}.${randomBytes(4).toString('hex')}`;
      await run('cp', ['-a', path.join(dir, 'data'), partial]);
      try {
        renameSync(partial, cached);
      } catch (err) {
        rmSync(partial, { recursive: true, force: true });
        if (!existsSync(cached)) throw err;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return cached;
  })().catch((err: unknown) => {
    template = undefined;
    throw err;
  });
  return template;
}

/**
 * A Postgres cluster made by initdb (a copy of the kept one, initdbTemplate; `from`: a copy of that data directory
 * instead, one stopped cleanly, a kept state of first-start-state.ts) in a temp dir, started with pg_ctl on a free loopback port. As
 * root (CI) initdb and the server run as the `postgres` user through runuser, since Postgres refuses
 * to run as root. fsync is off: the cluster only has to survive its server being killed, not the machine.
 * synchronous_commit stays on: with it off, a commit already acknowledged to the service is lost when
 * the server is stopped with `-m immediate` (its WAL was still in shared memory), which a test of "no
 * event lost through an outage" would blame on the service. With fsync off it costs a write(), not a flush.
 */
export async function startPrivatePostgres(opts: { from?: string } = {}): Promise<PrivatePostgres> {
  const bin = await postgresBinDir();
  if (!bin) throw new Error('initdb not found');
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'recsvc-pg-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const user = await osUser('postgres');
    if (!user) throw new Error('running as root needs a "postgres" user for initdb');
    chownSync(dir, user.uid, user.gid);
  }
  const pg = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args]) : run(path.join(bin, tool), args);
  // A copy of the kept initdb (cp -a keeps the postgres user's ownership and the 0700 mode).
  await run('cp', ['-a', opts.from ?? (await initdbTemplate(bin, pg, asRoot)), data]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const start = async () => {
    await pg('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'server.log'), '-w', '-t', '30', 'start']);
  };
  const stop = async (mode: 'immediate' | 'fast' = 'immediate') => {
    await pg('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']).catch(() => {});
  };
  /** The server's process and its backends. */
  const processes = async (): Promise<number[]> => {
    // Stopped: no pid file, nothing to signal.
    const pidFile = path.join(data, 'postmaster.pid');
    if (!existsSync(pidFile)) return [];
    const server = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    const children = await run('pgrep', ['-P', String(server)]).then(
      (r) => r.stdout.split('\n').filter(Boolean).map(Number),
      () => [],
    );
    return [server, ...children];
  };
  const signal = async (sig: NodeJS.Signals) => {
    for (const pid of await processes()) {
      try {
        process.kill(pid, sig);
      } catch {
        // exited meanwhile
      }
    }
  };
  let frozen = false;
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    data,
    stop,
    start,
    async freeze() {
      frozen = true;
      await signal('SIGSTOP');
    },
    async thaw() {
      frozen = false;
      await signal('SIGCONT');
    },
    async dispose() {
      if (frozen) await signal('SIGCONT');
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivateRedisCluster {
  /** `host:port` of every master, for REDIS_CLUSTER_NODES. */
  nodes: string[];
  /** `redis+cluster://` URL of the first master (the others are discovered from it). */
  url: string;
  ports: number[];
  dispose(): Promise<void>;
}

/**
 * A Redis Cluster of `masters` masters without replicas, each `redis-server --cluster-enabled yes` on a
 * free loopback port in a temp dir, joined by `redis-cli --cluster create` (slots split evenly);
 * resolves once every node reports `cluster_state:ok`.
 */
export async function startPrivateRedisCluster(masters = 3): Promise<PrivateRedisCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'recsvc-redis-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const dispose = async () => {
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const nodeDir = path.join(dir, String(port));
      mkdirSync(nodeDir);
      children.push(
        spawn(
          'redis-server',
          ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', path.join(nodeDir, 'nodes.conf'),
            '--save', '', '--appendonly', 'no', '--dir', nodeDir],
          { stdio: 'ignore' },
        ),
      );
      ports.push(port);
      await accepting(port);
    }
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes']);
    const deadline = Date.now() + 15_000;
    for (const port of ports) {
      for (;;) {
        const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
        if (stdout.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`Redis Cluster node ${port} not ok: ${stdout}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return { nodes, url: `redis+cluster://${nodes[0]}`, ports, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
