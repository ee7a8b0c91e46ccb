/**
 * What the erasure catch-up's look for audience postings left behind costs per kept version (audience-artifact.ts
 * audienceRowsLeft, run by user-erasure.ts audienceCatchUp at a process's start, when the erasure mark moves, and
 * now at least every AUDIENCE_RECHECK_MS whatever the mark): the ranged reads, the bytes they read and the time, on a
 * synthetic version of `--customers` customers (default 86,256, the 100,000-customer shop's precomputed ones) with
 * 8-character ids, `--erased` of them erased by a replica of the release before (blank in the user index, not
 * wiped). The look reads the user index's offsets and the postings' positions and wiped bytes, never the postings,
 * so the postings here are one candidate a customer. Against REDIS_URL when set (a draft version under a
 * private key prefix, deleted at the end), else the in-process store.
 *
 *   [REDIS_URL=redis://127.0.0.1:6379/N] node --import tsx bench/audience-catch-up-check.ts [--customers 86256] [--erased 10] [--runs 20]
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { audienceArtifactOf, audienceRowsLeft } from '../src/audiences/audience-artifact.js';
import { packEntries } from '../src/audiences/audience-index.js';
import type { ArtifactRangeReader } from '../src/recommenders/artifact.js';
import { ARTIFACT_USER_IDS, encodeUserIdsArtifact } from '../src/serving/serving-artifacts.js';
import type { UserEntry } from '../src/serving/user-entry.js';
import { createMemoryModelStore } from '../src/store/memory-model-store.js';
import type { ModelStore } from '../src/store/model-store.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { AUDIENCE_ARTIFACT } from '../src/audiences/audience-artifact.js';

const { values } = parseArgs({ options: { customers: { type: 'string', default: '86256' }, erased: { type: 'string', default: '10' }, runs: { type: 'string', default: '20' } } });
const U = Number(values.customers);
const ERASED = Number(values.erased);
const RUNS = Number(values.runs);
const ITEMS = 1000;
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

const entry = (u: number): UserEntry =>
  ({
    hybrid: { items: Int32Array.of(u % ITEMS), scores: Float32Array.of(1), because: Int32Array.of(-1), dominant: Uint8Array.of(0), sourceMask: Uint8Array.of(1) },
    purchased: Int32Array.of((u + 1) % ITEMS),
    orders: 1,
    lastTs: 0,
    recentItems: new Int32Array(0),
    recentTs: new Float64Array(0),
  }) as unknown as UserEntry;
const ids = Array.from({ length: U }, (_, u) => `c${String(u).padStart(7, '0')}`);
// Erased by the release before: blank in the user index, their postings left.
for (let k = 0; k < ERASED; k++) ids[Math.floor((k * U) / ERASED)] = '';
const audience = audienceArtifactOf([{ positions: Int32Array.from({ length: U }, (_, u) => u), packed: packEntries(Array.from({ length: U }, (_, u) => entry(u)), 1) }], ITEMS);
const userIds = encodeUserIdsArtifact(ids);

const redisUrl = process.env.REDIS_URL;
const store: ModelStore = redisUrl ? createRedisModelStore({ url: redisUrl, prefix: `bench-catch-up-${randomUUID()}:` }) : await createMemoryModelStore();
const version = 'bench-catch-up';
await store.putArtifact(version, AUDIENCE_ARTIFACT, audience);
await store.putArtifact(version, ARTIFACT_USER_IDS, userIds);

console.log(`# audience-catch-up-check: ${new Date().toISOString()}, ${cpus().length} cores, load average ${load()}, ${redisUrl ? 'Redis' : 'in-process store'}`);
console.log(`customers ${U}, erased by the release before ${ERASED}; artifacts: postings ${(audience.byteLength / 1e6).toFixed(2)} MB (one candidate a customer), user index ${(userIds.byteLength / 1e6).toFixed(2)} MB`);
try {
  const times: number[] = [];
  let reads = 0;
  let bytes = 0;
  let found = 0;
  for (let r = 0; r < RUNS; r++) {
    reads = bytes = 0;
    const counted = (name: string): ArtifactRangeReader => async (start, end) => {
      const got = await store.readArtifactRange!(version, name, start, end);
      reads++;
      bytes += got?.byteLength ?? 0;
      return got;
    };
    const t0 = performance.now();
    found = (await audienceRowsLeft(counted(AUDIENCE_ARTIFACT), counted(ARTIFACT_USER_IDS))).length;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`one look: ${reads} ranged reads, ${(bytes / 1e6).toFixed(3)} MB read, rows found ${found}; over ${RUNS} runs median ${times[RUNS >> 1].toFixed(1)} ms, max ${times[RUNS - 1].toFixed(1)} ms; load average ${load()}`);
} finally {
  await store.deleteVersion(version);
  await store.close();
}
