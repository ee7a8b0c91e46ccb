/**
 * What reading a version's largest artifact costs everyone else: Redis answers one client at a time, so a
 * command that returns 100+ MB holds every other client (storefront requests' entry reads, live events)
 * while Redis copies the reply, and the Redis client in this process joins it in one synchronous copy.
 * On a shop already trained into REDIS_URL (default key prefix; `npm run train`):
 *
 *   REDIS_URL=... npx tsx bench/artifact-read.ts [--rounds 3] [--artifact recommender:als]
 *
 * Each round reads the active version's artifact (default: its largest) as one GET, then through the
 * store (src/store/redis-model-store.ts: parts of ARTIFACT_PART_BYTES), then writes it through the store to
 * a scratch version (as a training does; deleted at the end), while another process sends
 * PING one after another (bench/lib/redis-pinger.ts): the slowest PING is how long Redis answered nobody
 * else. Also prints this process's longest event-loop stall (a 1 ms timer's longest gap) during each read.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { DEFAULT_REDIS_PREFIX } from '../src/store/create-model-store.js';
import { ARTIFACT_PART_BYTES } from '../src/store/redis-artifact-read.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { withStallProbe } from './lib/event-loop-stall.js';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const ROUNDS = Number(option('--rounds') ?? 3);
const REDIS = process.env.REDIS_URL;
if (!REDIS) throw new Error('set REDIS_URL to a Redis a shop was trained into (see the header)');

const store = createRedisModelStore({ url: REDIS, prefix: DEFAULT_REDIS_PREFIX });
const active = await store.getActive();
if (!active) throw new Error('no active version: train first');
const plain = new Redis(REDIS);
const pinger = fork(new URL('./lib/redis-pinger.ts', import.meta.url), { execArgv: ['--import', 'tsx'], env: process.env });
const keyOf = (name: string) => `${DEFAULT_REDIS_PREFIX}{v:${active.version}}:artifact:${name}`;

let name = option('--artifact');
if (!name) {
  const keys: string[] = [];
  for await (const batch of plain.scanStream({ match: keyOf('*'), count: 1000 })) keys.push(...(batch as string[]));
  const sizes = await Promise.all(keys.map(async (k) => [k, await plain.strlen(k)] as const));
  name = sizes.sort((a, b) => b[1] - a[1])[0][0].slice(keyOf('').length);
}
const size = await plain.strlen(keyOf(name));
const SCRATCH = 'bench-artifact-read-scratch';
const bytes = (await store.getArtifact(active.version, name))!;

/** `read`'s time, the slowest PING answered meanwhile, and this process's longest event-loop gap. */
async function measured(read: () => Promise<unknown>) {
  pinger.send('start');
  await new Promise((r) => setTimeout(r, 50));
  // The store's own connection (requests' reads) asked meanwhile, one read after another.
  let reading = true;
  let ownSlowest = 0;
  const own = (async () => {
    while (reading) {
      const t0 = performance.now();
      await store.getActive();
      ownSlowest = Math.max(ownSlowest, performance.now() - t0);
    }
  })();
  const { ms, stallMs: stall } = await withStallProbe(read, 5);
  reading = false;
  await own;
  pinger.send('stop');
  const [{ slowest, pings }] = (await once(pinger, 'message')) as [{ slowest: number; pings: number }];
  return { ms, slowest, pings, stall, ownSlowest };
}

await new Promise((r) => setTimeout(r, 1000));
console.log(`# artifact-read: ${new Date().toISOString()}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`version ${active.version}, artifact ${name}: ${(size / 2 ** 20).toFixed(1)} MiB; parts of ${ARTIFACT_PART_BYTES / 2 ** 20} MiB\n`);
console.log('| round | read | time | slowest PING from another client (PINGs answered) | longest event-loop stall here | slowest read on the store\'s own connection |');
console.log('|---|---|---:|---:|---:|---:|');
for (let round = 1; round <= ROUNDS; round++) {
  for (const [what, read] of [
    ['one GET', () => plain.getBuffer(keyOf(name))],
    ['the store, in parts', () => store.getArtifact(active.version, name)],
    ['write (putArtifact)', async () => store.putArtifact(SCRATCH, name, bytes)],
  ] as const) {
    const m = await measured(read);
    console.log(`| ${round} | ${what} | ${m.ms.toFixed(0)} ms | ${m.slowest.toFixed(0)} ms (${m.pings}) | ${m.stall.toFixed(0)} ms | ${m.ownSlowest.toFixed(0)} ms |`);
  }
}
await store.deleteVersion(SCRATCH);
plain.disconnect();
pinger.send('exit');
await store.close();
