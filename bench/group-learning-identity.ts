/**
 * Learning per product group changes nothing for a shop without groups: fits every source of a recipe
 * (default: models/default.json) on Online Retail (no item has a group) twice, through the registry
 * (src/recommenders/registry.ts, whose population-sensitive families learn per group where there are groups)
 * and through each family's own factory, and prints each artifact's SHA-256 (the header's `trainedAt`, the
 * clock, left out) and whether the two are the same bytes, and the SHA-256 of every customer's top 10 by
 * each source.
 *
 *   npx tsx bench/group-learning-identity.ts [RECIPE] [--data FILE]
 *
 * Data: --data FILE, else $ONLINE_RETAIL_CSV, else ../shared/datasets/online-retail/online-retail.csv.gz.
 */
import { createHash } from 'node:crypto';
import { decodeArtifact } from '../src/recommenders/artifact.js';
import { alsFactory } from '../src/recommenders/als.js';
import { buyAgainFactory } from '../src/recommenders/buy-again.js';
import { contentFactory } from '../src/recommenders/content.js';
import { cooccurrenceFactory } from '../src/recommenders/cooccurrence.js';
import { buildDataset, type Dataset } from '../src/recommenders/dataset.js';
import { easeFactory } from '../src/recommenders/ease.js';
import { itemKnnFactory } from '../src/recommenders/item-knn.js';
import { popularityFactory } from '../src/recommenders/popularity.js';
import type { HistoryEntry, Recommender, RecommenderFactory } from '../src/recommenders/recommender.js';
import { recommenderFactory } from '../src/recommenders/registry.js';
import { repurchaseFactory } from '../src/recommenders/repurchase.js';
import { userKnnFactory } from '../src/recommenders/user-knn.js';
import { topK } from '../src/evaluation/top-k.js';
import { loadRecipe } from '../src/training/recipe.js';
import { dataFile, loadOnlineRetail, withoutDataArg } from './lib/online-retail.js';

const OWN: Record<string, RecommenderFactory<unknown>> = {
  popularity: popularityFactory,
  'buy-again': buyAgainFactory,
  content: contentFactory,
  'item-knn': itemKnnFactory,
  als: alsFactory,
  cooccurrence: cooccurrenceFactory,
  ease: easeFactory,
  'user-knn': userKnnFactory,
  repurchase: repurchaseFactory,
} as Record<string, RecommenderFactory<unknown>>;

/** SHA-256 of an artifact without its trainedAt (the time of the fit). */
function artifactHash(bytes: Uint8Array): string {
  const { header, arrays } = decodeArtifact(bytes);
  const { trainedAt: _clock, ...rest } = header;
  const hash = createHash('sha256').update(JSON.stringify(rest));
  for (const [name, a] of Object.entries(arrays)) hash.update(name).update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return hash.digest('hex');
}

/** SHA-256 of every customer's top 10 by `model` (item ids, customers in dataset order). */
function listsHash(ds: Dataset, model: Recommender): string {
  const history: HistoryEntry[][] = ds.userIds.map(() => []);
  for (let e = 0; e < ds.eventUser.length; e++) history[ds.eventUser[e]].push({ item: ds.eventItem[e], ts: ds.eventTs[e], quantity: ds.eventQuantity[e], order: ds.eventOrder[e] });
  const out = new Float32Array(ds.itemIds.length);
  const hash = createHash('sha256');
  for (let u = 0; u < ds.userIds.length; u++) {
    model.scoreUser({ user: u, history: history[u], attributes: ds.userAttributes[u] }, out);
    hash.update(`${ds.userIds[u]}:${topK(out, 10).map((i) => ds.itemIds[i]).join(',')}\n`);
  }
  return hash.digest('hex');
}

const recipe = await loadRecipe(withoutDataArg()[0] ?? 'default');
const data = await loadOnlineRetail(dataFile());
const ds = buildDataset({ events: data.events, items: data.items, users: data.users });
console.log(`${ds.userIds.length} customers, ${ds.itemIds.length} items, ${ds.eventItem.length} purchases; items with a group: ${ds.items.filter((i) => i.itemGroupId).length}`);
console.log('| source | artifact SHA-256 (registry) | same bytes as the family own | top-10 lists SHA-256 (registry) | same lists |');
console.log('|---|---|---|---|---|');
let differ = 0;
for (const [name, { recommender, params }] of Object.entries(recipe.sources)) {
  const viaRegistry = recommenderFactory(recommender)!.fit(ds, params);
  const own = OWN[recommender].fit(ds, params);
  const [a, b] = [artifactHash(viaRegistry.toArtifact()), artifactHash(own.toArtifact())];
  const [la, lb] = [listsHash(ds, viaRegistry), listsHash(ds, own)];
  if (a !== b || la !== lb) differ++;
  console.log(`| ${name} | ${a.slice(0, 16)} | ${a === b ? 'yes' : 'NO'} | ${la.slice(0, 16)} | ${la === lb ? 'yes' : 'NO'} |`);
}
console.log(differ === 0 ? 'every source: the same artifact and lists' : `${differ} sources differ`);
process.exitCode = differ === 0 ? 0 : 1;
