/**
 * How long a server takes to listen, and to be ready, when the model store it starts on is behind on erasures (a
 * Redis restarted from a snapshot taken before one: the start scrubs its kept versions again, user-erasure.ts
 * catchUp), against a start right after with nothing behind. A private Postgres and redis-server (started and
 * removed here; need initdb/postgres and redis-server); the server's first start imports and trains the sample
 * (`--sample first`: the tests' tenth of it, `bundled`: the bundled sample). Each run: Redis saves a snapshot,
 * a customer (the next with the most purchases) is erased, the server and Redis are killed, Redis comes back from
 * the snapshot, and two servers start one after the other on it.
 *
 *   npx tsx bench/start-erasure-behind.ts [--runs 3] [--sample first|bundled]
 *
 * Prints, per run, the ms from "configuration" to "Server listening" and to the first 200 of /health/ready.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort, startPrivatePostgres, startPrivateRedis } from '../tests/helpers/private-servers.js';
import { nodeArgs } from '../tests/helpers/built-entry.js';
import { FIRST_START_SAMPLE } from '../tests/helpers/first-start-sample.js';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const RUNS = Number(option('--runs') ?? 3);
const SAMPLE = option('--sample') ?? 'first';
const ADMIN = 'bench-start-erasure-behind-key';

interface Server {
  child: ChildProcess;
  base: string;
  times: Map<string, number>;
  output: () => string;
}

async function start(db: string, redis: string, extra: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const { DATABASE_URL: _d, REDIS_URL: _r, API_KEYS: _k, ...env } = process.env;
  const child = spawn(process.execPath, nodeArgs('src/server.ts'), {
    env: { ...env, DATABASE_URL: db, REDIS_URL: redis, API_KEYS: `admin:${ADMIN}`, TRAIN_THREADS: '1', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: String(port), ...extra },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const times = new Map<string, number>();
  child.stdout!.on('data', (b) => {
    out += b;
    for (const line of String(b).split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const { msg, time } = JSON.parse(line) as { msg?: string; time?: number };
        if (msg === 'configuration' && !times.has('configuration')) times.set('configuration', time!);
        if (msg?.startsWith('Server listening') && !times.has('listening')) times.set('listening', time!);
      } catch {
        // a line cut in two by the pipe: not one of those looked for
      }
    }
  });
  return { child, base: `http://127.0.0.1:${port}`, times, output: () => out };
}

async function ready(s: Server, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (s.child.exitCode !== null) throw new Error(`the server exited:\n${s.output()}`);
    const status = await fetch(new URL('/health/ready', s.base)).then((r) => r.status, () => 0);
    if (status === 200) return Date.now();
    if (Date.now() > deadline) throw new Error(`not ready in ${ms} ms:\n${s.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(s: Server): Promise<void> {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGKILL');
  await exited;
}

/** Ms from the configuration line to listening and to ready. */
async function timedStart(db: string, redisUrl: string): Promise<{ server: Server; listen: number; ready: number }> {
  const server = await start(db, redisUrl, { SAMPLE_DATA: 'false' });
  const at = await ready(server, 300_000);
  const config = server.times.get('configuration')!;
  return { server, listen: server.times.get('listening')! - config, ready: at - config };
}

const [postgres, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
const servers: Server[] = [];
try {
  let server = await start(postgres.url, redis.url, { SAMPLE_DATA: 'true', ...(SAMPLE === 'first' ? { SAMPLE_FILE: FIRST_START_SAMPLE } : {}) });
  servers.push(server);
  await ready(server, 600_000);
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  const customers = (await client.query<{ user_id: string }>('SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY count(*) DESC LIMIT $1', [RUNS])).rows.map((r) => r.user_id);
  await client.end();
  const rows: string[] = [];
  for (const customer of customers) {
    const r = new Redis(redis.url);
    await r.save();
    r.disconnect();
    const erased = await fetch(new URL(`/v1/users/${encodeURIComponent(customer)}`, server.base), { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN}` } });
    if (!erased.ok) throw new Error(`the erasure answered ${erased.status}: ${await erased.text()}`);
    await stop(server);
    await redis.kill();
    await redis.start();
    const behind = await timedStart(postgres.url, redis.url);
    servers.push(behind.server);
    const scrubbedLate = behind.server.output().includes('goes on past the start');
    await stop(behind.server);
    const caughtUp = await timedStart(postgres.url, redis.url);
    servers.push(caughtUp.server);
    server = caughtUp.server;
    rows.push(`| ${behind.listen} | ${behind.ready} | ${scrubbedLate ? 'yes' : 'no'} | ${caughtUp.listen} | ${caughtUp.ready} |`);
  }
  console.log(`sample: ${SAMPLE}, ${RUNS} runs`);
  console.log('| behind: listening, ms | behind: ready, ms | scrub went on past the wait | nothing behind: listening, ms | nothing behind: ready, ms |');
  console.log('|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
} finally {
  for (const s of servers) await stop(s);
  await postgres.dispose();
  await redis.dispose();
}
