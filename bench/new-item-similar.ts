/**
 * Similar items of products added after training (GET /v1/items/:id/similar for an item only the catalog
 * knows): every 10th product of Online Retail is held out of the content fit, as if added since, and
 * described in the fitted feature space (content.ts similarToNewItem). Prints what keeping the feature
 * space costs (artifact bytes, load time), the time per ask, how many new items get content neighbours,
 * and how close those are to the neighbours a training that included the item gives it (overlap@10).
 *
 *   npx tsx bench/new-item-similar.ts [--data FILE] [--copies N]
 *
 * FILE defaults to ONLINE_RETAIL_CSV, else ../shared/datasets/online-retail/online-retail.csv.gz beside
 * the repository; --copies N makes the catalogue N times larger (disjoint copies, same texts).
 */
import { contentFactory, contentFromArtifact, type ContentParams, type ContentRecommender } from '../src/recommenders/content.js';
import { decodeArtifact } from '../src/recommenders/artifact.js';
import { buildDataset } from '../src/recommenders/dataset.js';
import { benchRecipe, dataFile, inMemoryCopies, loadOnlineRetail, optionTaker, withoutDataArg } from './lib/online-retail.js';

const args = withoutDataArg();
const copies = Number(optionTaker(args)('--copies') ?? 1);
const input = inMemoryCopies(await loadOnlineRetail(dataFile()), copies);
const items = [...(input.items ?? [])];
const events = [...input.events];
const ids = items.map((i) => i.id).sort();
const heldOut = new Set(ids.filter((_, n) => n % 10 === 0));
const params = contentFactory.parseParams((await benchRecipe('default')).sources.content?.params ?? {}) as ContentParams;

const fit = (keep: (id: string) => boolean) => {
  const ds = buildDataset({ events: events.filter((e) => keep(e.itemId)), items: items.filter((i) => keep(i.id)), users: input.users });
  const t0 = performance.now();
  const model = contentFactory.fit(ds, params) as ContentRecommender;
  return { ds, model, ms: performance.now() - t0 };
};
const trained = fit((id) => !heldOut.has(id));
const all = fit(() => true);

const bytes = trained.model.toArtifact();
const t0 = performance.now();
const loaded = contentFromArtifact(bytes, trained.ds);
const loadMs = performance.now() - t0;
// What the feature space adds to the artifact: its three arrays.
const { arrays } = decodeArtifact(bytes, { algorithm: 'content', version: 1 });
const spaceBytes = ['featureNameBytes', 'featureNameOffsets', 'featureDf'].reduce((n, name) => n + (arrays[name]?.byteLength ?? 0), 0);

const K = 10;
const times: number[] = [];
let withNeighbours = 0;
let overlapSum = 0;
let compared = 0;
for (const item of items) {
  if (!heldOut.has(item.id)) continue;
  const s = performance.now();
  const near = loaded.similarToNewItem(item, K) ?? [];
  times.push(performance.now() - s);
  if (near.length === 0) continue;
  withNeighbours++;
  // Its neighbours when a training includes it, among the products the held-out fit knows.
  const reference = all.model
    .similarItems!(all.ds.itemIndex.get(item.id)!, 200)
    .map((n) => all.ds.itemIds[n.item])
    .filter((id) => !heldOut.has(id))
    .slice(0, K);
  if (reference.length === 0) continue;
  const got = new Set(near.map((n) => trained.ds.itemIds[n.item]));
  overlapSum += reference.filter((id) => got.has(id)).length / Math.min(K, reference.length);
  compared++;
}
times.sort((a, b) => a - b);
const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))];

console.log(`${items.length} products (${copies} cop${copies === 1 ? 'y' : 'ies'}), ${heldOut.size} held out as added after training; content fit ${trained.ms.toFixed(0)} ms`);
console.log(`content artifact ${(bytes.byteLength / 1e6).toFixed(2)} MB, of which the feature space ${(spaceBytes / 1e6).toFixed(2)} MB; load ${loadMs.toFixed(0)} ms`);
console.log(`per ask (k = ${K}): median ${q(0.5).toFixed(3)} ms, p95 ${q(0.95).toFixed(3)} ms, max ${times[times.length - 1].toFixed(3)} ms`);
console.log(`new items with content neighbours: ${withNeighbours} of ${heldOut.size} (${((100 * withNeighbours) / heldOut.size).toFixed(1)}%); the rest get popularity`);
console.log(`overlap@${K} with the neighbours a training including the item gives it: ${(overlapSum / compared).toFixed(3)} (mean over ${compared})`);
