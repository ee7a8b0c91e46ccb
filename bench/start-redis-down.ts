/**
 * How long a server process takes from its configuration line to listening, by its own log's timestamps,
 * started while its Redis is down (a private redis-server, started and killed here; needs redis-server) and
 * while it answers. The server runs with the default waits (REDIS_CONNECT_WAIT_MS, ERASURE_CATCH_UP_RETRY_MS)
 * on DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), SAMPLE_DATA off (no first-start import).
 * With `--hang`, also while the Redis hangs: frozen with SIGSTOP, it takes connections (the kernel's backlog)
 * and answers nothing; the server is killed before the Redis is thawed.
 *
 *   npx tsx bench/start-redis-down.ts [--runs 3] [--hang]
 *
 * Prints, per run and state, the ms from "configuration" to "Server listening at", and the median; and how many
 * starts took their Redis for silent (only the hanging ones should).
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { freePort, startPrivateRedis } from '../tests/helpers/private-servers.js';
import { nodeArgs } from '../tests/helpers/built-entry.js';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const RUNS = Number(option('--runs') ?? 3);
const HANG = process.argv.includes('--hang');
const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Ms between the process's "configuration" line and its "Server listening" line (their pino `time`s). */
async function timeToListen(redisUrl: string): Promise<number> {
  const port = await freePort();
  const { REDIS_URL: _r, API_KEYS: _k, ...env } = process.env;
  const child = spawn(process.execPath, nodeArgs('src/server.ts'), {
    env: { ...env, DATABASE_URL: PG, REDIS_URL: redisUrl, API_KEYS: 'admin:bench-start-redis-down-key', SAMPLE_DATA: 'false', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const times = new Map<string, number>();
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the server exited (${code}) before it listened:\n${out}`)));
      child.stdout!.on('data', (b) => {
        out += b;
        for (const line of out.split('\n')) {
          if (!line.startsWith('{')) continue;
          try {
            const { msg, time } = JSON.parse(line) as { msg?: string; time?: number };
            if (msg === 'configuration' && !times.has('configuration')) times.set('configuration', time!);
            if (msg?.startsWith('Server listening') && !times.has('listening')) times.set('listening', time!);
            if (msg?.startsWith('Redis took the connection and did not answer')) silentStarts.add(port);
          } catch {
            // a line cut in two: read whole next time
          }
        }
        if (times.has('listening')) resolve();
      });
    });
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  return times.get('listening')! - times.get('configuration')!;
}

/** The ports of the starts that took their Redis for silent (src/server.ts REDIS_START_REPLY_MS). */
const silentStarts = new Set<number>();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const redis = await startPrivateRedis();
try {
  const results: Record<string, number[]> = { 'Redis up': [], ...(HANG ? { 'Redis hangs': [] } : {}), 'Redis down': [] };
  for (let run = 0; run < RUNS; run++) {
    if (run > 0) await redis.start();
    results['Redis up'].push(await timeToListen(redis.url));
    if (HANG) {
      redis.freeze();
      results['Redis hangs'].push(await timeToListen(redis.url));
      redis.thaw();
    }
    await redis.kill();
    results['Redis down'].push(await timeToListen(redis.url));
  }
  for (const [state, ms] of Object.entries(results)) console.log(`${state}: configuration -> listening ${ms.join(', ')} ms (median ${median(ms)})`);
  console.log(`starts that took Redis for silent: ${silentStarts.size} (of ${RUNS} hanging with --hang)`);
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
} finally {
  await redis.dispose();
}
