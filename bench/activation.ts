/**
 * How fast a published version reaches another process, and what a request's store reads cost, on one
 * Redis and on a 3-master Redis Cluster (both private: redis-server on free loopback ports, started and
 * removed by this script; needs redis-server and redis-cli).
 *
 *   npx tsx bench/activation.ts [--rounds 300] [--reads 3000]
 *
 * For each backend: store A publishes a fresh version (one small artifact) `rounds` times; store B (its
 * own connections, as another replica) counts the time from the start of A's publish() to B's
 * onActiveChanged call. Then B reads the active pointer and one entry of a table (what a known
 * customer's request reads) `reads` times, one after another. Prints p50 / p99 / max in ms.
 */
import { parseArgs } from 'node:util';
import type { ModelStore } from '../src/store/model-store.js';
import { redisTarget, type RedisTarget } from '../src/store/redis-connection.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { privateServerSupport, startPrivateRedis, startPrivateRedisCluster } from '../tests/helpers/private-servers.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '300' }, reads: { type: 'string', default: '3000' } } });
const ROUNDS = Number(values.rounds);
const READS = Number(values.reads);

const quantiles = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return `p50 ${at(0.5).toFixed(2)}  p99 ${at(0.99).toFixed(2)}  max ${s[s.length - 1].toFixed(2)}`;
};

async function measure(name: string, target: RedisTarget): Promise<void> {
  const prefix = `bench-activation:`;
  const a: ModelStore = createRedisModelStore({ target, prefix });
  const b: ModelStore = createRedisModelStore({ target, prefix });
  let heard: (() => void) | null = null;
  b.onActiveChanged?.(() => heard?.());
  // Both subscribed and connected before the first round.
  await new Promise((r) => setTimeout(r, 1000));
  const propagation: number[] = [];
  const publishing: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const version = `v${i}`;
    await a.putArtifact(version, 'model', new Uint8Array([i & 255]));
    await a.putEntries(version, 'users', [['u1', new Uint8Array(200)]]);
    const arrived = new Promise<void>((resolve) => (heard = resolve));
    const t0 = performance.now();
    await a.publish({ version, recipe: 'bench', trainedAt: new Date().toISOString(), info: {} });
    publishing.push(performance.now() - t0);
    await arrived;
    propagation.push(performance.now() - t0);
  }
  const reads: number[] = [];
  for (let i = 0; i < READS; i++) {
    const t0 = performance.now();
    const active = await b.getActive();
    await b.getEntries(active!.version, 'users', ['u1']);
    reads.push(performance.now() - t0);
  }
  console.log(`${name}: publish ${quantiles(publishing)}`);
  console.log(`${name}: publish -> other process told ${quantiles(propagation)}`);
  console.log(`${name}: active pointer + one entry ${quantiles(reads)}`);
  await Promise.all([a.close(), b.close()]);
}

const support = await privateServerSupport();
if (!support.redisCluster) throw new Error(`needs ${support.missing.join(', ')}`);
const single = await startPrivateRedis();
const cluster = await startPrivateRedisCluster(3);
try {
  console.log(`rounds ${ROUNDS}, reads ${READS}`);
  await measure('one redis-server', { kind: 'single', url: single.url });
  await measure('3-master cluster', redisTarget({ REDIS_URL: undefined, REDIS_CLUSTER_NODES: cluster.nodes })!);
} finally {
  await Promise.all([single.dispose(), cluster.dispose()]);
}
