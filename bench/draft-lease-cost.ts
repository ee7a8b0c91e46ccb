/**
 * What the draft leases (ModelStore.leaseDraft, sweepDrafts: redis-model-store.ts) cost a publish and a restore: N
 * small drafts (one artifact, one table of ENTRIES entries each) written and published three ways, on a store of the
 * caller's connection so every command is counted:
 *   plain   a training's publish: no lease (what every training does, before and after the change)
 *   leased  a restore's: leaseDraft before the writes, publish with draftHolder (the script checks and drops the lease)
 *   sweep   sweepDrafts with no lease run out (what each model recovery look and each erasure adds)
 * Prints per draft the client CPU (process.cpuUsage: user+sys, this process, so the writes' own CPU is in it) and the
 * Redis commands sent (ioredis sendCommand, pipelines included: a round trip is one command or one pipeline), and
 * from Redis's INFO commandstats the server's µs per EVAL. Run it against a Redis of its own (commandstats is server
 * wide): `REDIS_URL=redis://127.0.0.1:PORT npx tsx bench/draft-lease-cost.ts [N] [ENTRIES]`. Against a build without
 * leaseDraft (the release before) `leased` and `sweep` are skipped and `plain` is the before.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { deleteRedisPrefix } from './lib/redis-prefix.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const n = Number(process.argv[2] ?? 2000);
const entries = Number(process.argv[3] ?? 10);
const prefix = `bench-draft-lease-${randomBytes(4).toString('hex')}:`;
const redis = new Redis(url);
let sent = 0;
let evals = 0;
const send = redis.sendCommand.bind(redis);
redis.sendCommand = ((command: { name: string }) => {
  sent++;
  if (command.name === 'eval' || command.name === 'evalsha') evals++;
  return send(command as never);
}) as typeof redis.sendCommand;
// Five kept: each publish prunes the oldest, the same steady state for every way.
const store = createRedisModelStore({ redis, prefix, versionsKept: 5 });
const statsConnection = new Redis(url);
const artifact = new Uint8Array(1024).fill(7);
const rows = (k: number): [string, Uint8Array][] => Array.from({ length: entries }, (_, i) => [`u${i}`, new Uint8Array([k & 255, i & 255])]);
const meta = (version: string) => ({ version, recipe: 'bench', trainedAt: new Date(0).toISOString(), info: {} });

async function evalStats(): Promise<{ calls: number; usec: number }> {
  const info = await statsConnection.info('commandstats');
  let calls = 0;
  let usec = 0;
  for (const line of info.split('\n')) {
    const m = /^cmdstat_(eval|evalsha):calls=(\d+),usec=(\d+)/.exec(line);
    if (m) {
      calls += Number(m[2]);
      usec += Number(m[3]);
    }
  }
  return { calls, usec };
}

/** One way's numbers per draft for one round. */
interface Row { cpuUs: number; commands: number; evals: number; redisEvalUs: number }

async function measure(one: (k: number) => Promise<void>): Promise<Row> {
  const [sent0, evals0, stats0] = [sent, evals, await evalStats()];
  const cpu0 = process.cpuUsage();
  for (let k = 0; k < n; k++) await one(k);
  const cpu = process.cpuUsage(cpu0);
  const stats = await evalStats();
  const evalCalls = stats.calls - stats0.calls;
  return { cpuUs: (cpu.user + cpu.system) / n, commands: (sent - sent0) / n, evals: (evals - evals0) / n, redisEvalUs: evalCalls > 0 ? (stats.usec - stats0.usec) / evalCalls : 0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rounds = Number(process.argv[4] ?? 5);

try {
  console.log(`${n} drafts per way and round, ${rounds} rounds alternating (medians), 1 artifact of 1 KiB and ${entries} entries each; load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const write = async (version: string, k: number) => {
    await store.putArtifact(version, 'model', artifact);
    await store.putEntries(version, 'users', rows(k));
  };
  const ways: Record<string, (round: number) => (k: number) => Promise<void>> = {
    plain: (round) => async (k) => {
      const version = `plain-${round}-${k}`;
      await write(version, k);
      await store.publish(meta(version), { listOnly: true });
    },
  };
  if (store.leaseDraft) {
    ways.leased = (round) => async (k) => {
      const version = `leased-${round}-${k}`;
      await store.leaseDraft!(version, 'bench', 120_000);
      await write(version, k);
      await store.publish(meta(version), { listOnly: true, draftHolder: 'bench' } as never);
    };
    ways.sweep = () => async () => void (await store.sweepDrafts!());
  }
  const rowsOf: Record<string, Row[]> = Object.fromEntries(Object.keys(ways).map((w) => [w, []]));
  // A warm-up round, not counted.
  for (const way of Object.values(ways)) for (let k = 0; k < 100; k++) await way(-1)(k);
  for (let round = 0; round < rounds; round++) for (const [name, way] of Object.entries(ways)) rowsOf[name].push(await measure(way(round)));
  for (const [name, rs] of Object.entries(rowsOf)) {
    console.log(
      `${name.padEnd(7)} per draft: client CPU ${median(rs.map((r) => r.cpuUs)).toFixed(1)} µs (rounds ${rs.map((r) => r.cpuUs.toFixed(0)).join(' ')}), ` +
        `commands ${median(rs.map((r) => r.commands)).toFixed(2)} (EVAL ${median(rs.map((r) => r.evals)).toFixed(2)}), Redis µs per EVAL ${median(rs.map((r) => r.redisEvalUs)).toFixed(1)}`,
    );
  }
} finally {
  await store.close();
  await redis.quit();
  await statsConnection.quit();
  await deleteRedisPrefix(url, prefix);
}
