/**
 * What one customer's best ALS items cost, read by decreasing factor norm (the source's scoreSparse) against
 * a pass over every item (what it did before), on the active model of a trained shop:
 *
 *   REDIS_URL=... npx tsx bench/als-top-items.ts [--customers 3000] [--limits 120,1000]
 *
 * Reads the active version's ALS artifact, then for customers spread over its customer rows asks for the
 * `limit` best items both ways, checks that both give the same items and scores, and prints the time per
 * customer. 120 was the serving build's ask for a single-strategy list (100 kept + about 20 purchases; it
 * now asks for 100, as the customer's purchases are kept apart from the limit); 1000 is the hybrid's source depth.
 */
import { Redis } from 'ioredis';
import { alsFactory, dotRow } from '../src/recommenders/als.js';
import { decodeArtifact } from '../src/recommenders/artifact.js';
import { SparseScores } from '../src/recommenders/sparse-scores.js';
import { TopKHeap } from '../src/recommenders/top-k-heap.js';

const args = process.argv.slice(2);
const option = (flag: string, fallback: string) => {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : fallback;
};
const sample = Number(option('--customers', '3000'));
const limits = option('--limits', '120,1000').split(',').map(Number);

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const active = JSON.parse((await redis.get('recsvc:active')) ?? 'null') as { version: string } | null;
if (!active) throw new Error('no active model version in this Redis: train a shop first');
const bytes = await redis.getBuffer(`recsvc:{v:${active.version}}:artifact:recommender:als`);
await redis.quit();
if (!bytes) throw new Error(`version ${active.version} has no ALS artifact`);
const { header, arrays } = decodeArtifact(new Uint8Array(bytes));
const itemIds = (header.meta as { itemIds: string[] }).itemIds;
const k = (header.params as { factors: number }).factors;
const itemFactors = arrays.itemFactors as Float32Array;
const userFactors = arrays.userFactors as Float32Array;
const model = alsFactory.fromArtifact(new Uint8Array(bytes), { itemIds });
const items = itemIds.length;
const users = userFactors.length / k;

/** The pass over every item the source made before: each item's dot product against a bounded heap. */
function fullPass(user: number, limit: number, out: SparseScores) {
  const x = Float64Array.from(userFactors.subarray(user * k, (user + 1) * k));
  const heap = new TopKHeap(limit);
  let min = heap.threshold;
  for (let j = 0; j < items; j++) {
    const s = dotRow(x, itemFactors, j * k, k);
    if (s <= 0 || s < min) continue;
    heap.push(j, s);
    min = heap.threshold;
  }
  heap.forEach((item, score) => out.set(item, score));
}

const customers = Array.from({ length: Math.min(sample, users) }, (_, t) => Math.floor((t * users) / Math.min(sample, users)));
const listOf = (s: SparseScores) => Array.from({ length: s.size }, (_, p) => `${s.item(p)}:${s.values[s.item(p)]}`).sort().join();
console.log(`version ${active.version}: ${items} items, ${users} customer rows, ${k} factors; ${customers.length} customers`);
for (const limit of limits) {
  const a = new SparseScores(items);
  const b = new SparseScores(items);
  let differ = 0;
  let tFull = 0;
  let tNorm = 0;
  for (const u of customers) {
    const ctx = { user: u, history: [], attributes: {} };
    a.clear();
    b.clear();
    let t = performance.now();
    fullPass(u, limit, a);
    tFull += performance.now() - t;
    t = performance.now();
    model.scoreSparse!(ctx, b, limit);
    tNorm += performance.now() - t;
    if (listOf(a) !== listOf(b)) differ++;
  }
  const per = (ms: number) => ((1000 * ms) / customers.length).toFixed(0);
  console.log(`limit ${limit}: every item ${per(tFull)} us per customer, by factor norm ${per(tNorm)} us (${(tFull / tNorm).toFixed(1)}x); lists that differ: ${differ}`);
}
