/**
 * What an erasure reads of the audience postings (audience-artifact.ts audiencePatchesWithout) per kept version,
 * on synthetic postings of the 100,000-customer shop's shape (bench/README "The first audience from stored
 * postings": 86,256 precomputed customers, 60,542 products, about 204 candidates a customer), the items drawn
 * with Zipf (s = 1) popularity: how many ranged reads (each a Redis round trip), in how many rounds (reads sent
 * while others are in flight count once), the bytes read, and the patches written. Counts, not times: no store.
 *
 *   node --import tsx bench/audience-erasure-reads.ts [--customers 86256] [--items 60542] [--list 204]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { audienceArtifactOf, audiencePatchesWithout, type PositionedChunk } from '../src/audiences/audience-artifact.js';
import { packEntries } from '../src/audiences/audience-index.js';
import type { UserEntry } from '../src/serving/user-entry.js';

const { values } = parseArgs({ options: { customers: { type: 'string', default: '86256' }, items: { type: 'string', default: '60542' }, list: { type: 'string', default: '204' } } });
const U = Number(values.customers);
const I = Number(values.items);
const L = Number(values.list);
const BOUGHT = 5;

const cdf = new Float64Array(I);
let total = 0;
for (let i = 0; i < I; i++) cdf[i] = total += 1 / (i + 1);
let seed = 7;
const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
const pick = () => {
  const x = random() * total;
  let lo = 0;
  let hi = I - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

const erasedLists: Int32Array[] = [];
const chunks: PositionedChunk[] = [];
for (let from = 0; from < U; from += 5000) {
  const entries: UserEntry[] = [];
  for (let u = from; u < Math.min(U, from + 5000); u++) {
    const set = new Set<number>();
    while (set.size < L) set.add(pick());
    const items = Int32Array.from(set);
    const bought = items.slice(0, BOUGHT);
    if (u < 100) erasedLists.push(items);
    entries.push({
      segment: 0, orders: 3, lastTs: 1, purchased: bought, recentItems: bought, recentTs: new Float64Array(BOUGHT),
      hybrid: { items, scores: new Float32Array(L).fill(0.5), sourceMask: new Uint32Array(L), dominant: new Uint8Array(L), because: new Int32Array(L).fill(-1) },
    });
  }
  chunks.push({ positions: Int32Array.from(entries, (_, k) => from + k), packed: packEntries(entries, 1) });
}
const artifact = audienceArtifactOf(chunks, I);
console.log(`synthetic postings: ${U} customers, ${I} items, ${L} candidates each; artifact ${(artifact.byteLength / 1e6).toFixed(1)} MB; load ${loadavg()[0].toFixed(1)}`);

for (const n of [1, 10, 100]) {
  let reads = 0;
  let bytesRead = 0;
  let inFlight = 0;
  let rounds = 0;
  const read = async (start: number, end: number) => {
    if (inFlight === 0) rounds++;
    inFlight++;
    reads++;
    bytesRead += end - start;
    await new Promise((resolve) => setImmediate(resolve));
    inFlight--;
    return artifact.slice(start, end);
  };
  const rows = [...Array(n).keys()];
  const patches = (await audiencePatchesWithout(read, rows, rows.map((u) => ({ candidates: erasedLists[u], purchased: erasedLists[u].slice(0, BOUGHT) }))))!;
  const written = patches.reduce((t, p) => t + p.bytes.byteLength, 0);
  console.log(`${n} customers erased: ${reads} ranged reads in ${rounds} rounds, ${(bytesRead / 1e6).toFixed(2)} MB read, ${patches.length} patches, ${written} bytes written`);
}
