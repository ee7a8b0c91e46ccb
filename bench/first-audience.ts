/**
 * The first audience of a version, from its stored postings (audience-artifact.ts) and built the old way from
 * every customer's entry, on a shop already imported and trained into REDIS_URL (`npm run import`, `npm run
 * train`; default key prefix). Reads only.
 *
 *   REDIS_URL=... node --expose-gc --import tsx bench/first-audience.ts [--items 200] [--skip-build]
 *
 * 1. The stored postings' size, and what building them costs a training (the `audience` step): the
 *    users-table rows read first (not counted), then collected, decoded, packed and inverted as
 *    compute-model.ts does: CPU time of this process, and its heap and RSS growth.
 * 2. The index loaded both ways, as the service loads it (loadAudienceIndex, the inversion of the old way in a
 *    worker thread): wall time, CPU time of the process (every thread), the event loop's busy time
 *    (perf.eventLoopUtilization: what the thread that answers requests spent on it, descheduling
 *    included on a loaded machine), the longest event-loop stall (a 1 ms timer's longest gap), and the
 *    per-customer entries read.
 * 3. The audiences of the `--items` most-held products (k 100, recent buyers kept and left out) compared
 *    between the two indexes: they must be equal.
 */
import { cpus, loadavg } from 'node:os';
import { performance as perf } from 'node:perf_hooks';
import { audienceCollector, AUDIENCE_ARTIFACT, AUDIENCE_ARTIFACT_V1, AUDIENCE_ARTIFACTS } from '../src/audiences/audience-artifact.js';
import { postingsInWorker } from '../src/audiences/audience-index-build.js';
import { rankAudience } from '../src/audiences/audience-index.js';
import { explainedMembers, loadAudienceIndex } from '../src/audiences/audience-service.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact } from '../src/serving/serving-artifacts.js';
import { loadServingModel } from '../src/serving/serving-model.js';
import { USERS_TABLE } from '../src/serving/user-entry.js';
import { DEFAULT_REDIS_PREFIX } from '../src/store/create-model-store.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { withStallProbe } from './lib/event-loop-stall.js';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const ITEMS = Number(option('--items') ?? 200);
const SKIP_BUILD = process.argv.includes('--skip-build');
const REDIS = process.env.REDIS_URL;
if (!REDIS) throw new Error('set REDIS_URL to a shop trained there (see the header)');
const store = createRedisModelStore({ url: REDIS, prefix: DEFAULT_REDIS_PREFIX });
const active = await store.getActive();
if (!active) throw new Error('no active version');
const model = await loadServingModel(store, active);
if (!model) throw new Error(`version ${active.version} has no serving artifacts`);
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
const cpuMs = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return ((d.user + d.system) / 1000).toFixed(0);
};

console.log(`# first-audience: ${new Date().toISOString()}, ${cpus().length} cores, load average ${load()}`);
const stored = await store.getArtifact(active.version, AUDIENCE_ARTIFACT);
const storedV1 = await store.getArtifact(active.version, AUDIENCE_ARTIFACT_V1);
const ids = decodeUserIdsArtifact((await store.getArtifact(active.version, ARTIFACT_USER_IDS))!);
console.log(`version ${active.version}: ${model.items.ids.length} items, ${ids.length} customers in the user index; stored postings ${stored ? mb(stored.byteLength) : 'none'} (layout 2), ${storedV1 ? mb(storedV1.byteLength) : 'none'} (layout 1)`);
for (const meta of await store.listVersions()) {
  if (meta.version === active.version) continue;
  for (const name of AUDIENCE_ARTIFACTS) {
    const other = await store.getArtifact(meta.version, name);
    if (other) console.log(`kept version ${meta.version}: ${name} ${mb(other.byteLength)}`);
  }
}

console.log('\n## 1. Building the postings, as a training does');
if (!SKIP_BUILD) {
  const rows: [string, Uint8Array][] = [];
  for (let from = 0; from < ids.length; from += 1000) {
    const part = ids.slice(from, from + 1000);
    const got = await store.getEntries(active.version, USERS_TABLE, part);
    got.forEach((b, k) => b && rows.push([part[k], b]));
  }
  const rowBytes = rows.reduce((n, [, b]) => n + b.byteLength, 0);
  global.gc?.();
  const heap0 = process.memoryUsage();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const collector = audienceCollector(ids, model.info.hybridSources.length);
  for (let from = 0; from < rows.length; from += 2000) collector.add(rows.slice(from, from + 2000));
  const collected = process.memoryUsage();
  const bytes = collector.artifact(model.items.ids.length);
  const after = process.memoryUsage();
  console.log(`${rows.length} users-table rows (${mb(rowBytes)}): built ${mb(bytes.byteLength)} in ${(performance.now() - t0).toFixed(0)} ms wall, ${cpuMs(cpu0)} ms CPU; ` +
    `growth: after packing rss +${mb(collected.rss - heap0.rss)} (array buffers +${mb(collected.arrayBuffers - heap0.arrayBuffers)}), after encoding rss +${mb(after.rss - heap0.rss)} (array buffers +${mb(after.arrayBuffers - heap0.arrayBuffers)}); load average ${load()}`);
}

console.log('\n## 2. The first audience index of the version');
const counting = (hide: boolean) => {
  const c = {
    entriesRead: 0,
    getArtifact: async (v: string, n: string) => (hide && (AUDIENCE_ARTIFACTS as readonly string[]).includes(n) ? null : store.getArtifact(v, n)),
    getEntries: (v: string, table: string, keys: string[]) => {
      c.entriesRead += keys.length;
      return store.getEntries(v, table, keys);
    },
    listVersions: () => store.listVersions(),
  };
  return c;
};
const indexes: Record<string, Awaited<ReturnType<typeof loadAudienceIndex>>> = {};
for (const [name, hide] of [['stored postings', false], ['built from the entries (the old way)', true]] as const) {
  const reads = counting(hide);
  const cpu0 = process.cpuUsage();
  const elu0 = perf.eventLoopUtilization();
  const { ms, stallMs } = await withStallProbe(async () => {
    indexes[name] = await loadAudienceIndex(reads, model, postingsInWorker());
  });
  const busy = perf.eventLoopUtilization(elu0).active;
  console.log(`${name}: ${(ms / 1000).toFixed(2)} s wall, ${cpuMs(cpu0)} ms CPU (all threads), event loop busy ${(busy / 1000).toFixed(2)} s, longest event-loop stall ${stallMs.toFixed(0)} ms, ${reads.entriesRead} entries read; load average ${load()}`);
}

console.log('\n## 3. The same audiences');
{
  const a = indexes['stored postings'].index;
  const b = indexes['built from the entries (the old way)'].index;
  const held = [...Array(model.items.ids.length).keys()].sort((x, y) => (a.candidates.indptr[y + 1] - a.candidates.indptr[y]) - (a.candidates.indptr[x + 1] - a.candidates.indptr[x])).slice(0, ITEMS);
  let equal = 0;
  let members = 0;
  let anchored = 0;
  const explainMs: number[] = [];
  const reads = counting(false);
  for (const t of held) {
    for (const excludeBuyersSince of [null, model.info.now - 90 * 86_400_000]) {
      // The members' anchors and sources as the service tells them (from their entries when the postings lack them).
      const show = async (index: typeof a, timed: boolean) => {
        const ranked = rankAudience(index, { targets: [t], k: 100, gamma: 0, excludeBuyersSince });
        const t0 = performance.now();
        const explained = await explainedMembers(reads, active.version, index, ranked);
        if (timed) explainMs.push(performance.now() - t0);
        return JSON.stringify(explained.map((m) => [index.userIds[m.user], m.score, m.tier, m.anchor, m.source, m.target]));
      };
      const x = await show(a, true);
      if (x === (await show(b, false))) equal++;
      const parsed = JSON.parse(x) as unknown[][];
      members += parsed.length;
      anchored += parsed.filter((m) => (m[3] as number) >= 0).length;
    }
  }
  explainMs.sort((p, q) => p - q);
  console.log(`${equal} of ${held.length * 2} audiences equal (${members} members, ${anchored} with an anchor); the stored postings' members' entries read: ${reads.entriesRead}, ` +
    `the explanation per audience median ${explainMs[explainMs.length >> 1].toFixed(1)} ms, max ${explainMs[explainMs.length - 1].toFixed(1)} ms wall; load average ${load()}`);
}
await store.close();
