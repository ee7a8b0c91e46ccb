/**
 * What each source costs the hybrid's per-customer blend (the serving build's inner loop) at N copies of
 * UCI Online Retail (re-keyed, disjoint, as bench/scale.ts makes them, but in memory):
 *
 *   npx tsx bench/blend-cost.ts [COPIES] [--recipe NAME] [--data FILE]
 *   npx tsx bench/blend-cost.ts [COPIES] --single SOURCE[,BETA...] [--data FILE]
 *
 * Fits the recipe (as written, no tuning) on all the data, then blends 2,000 customers spread over the
 * customer list in one thread, with every source and without each of a few, and prints milliseconds per
 * customer and candidates per customer. The file: --data FILE, else ONLINE_RETAIL_CSV, else
 * ../shared/datasets/online-retail/online-retail.csv.gz.
 *
 * --single SOURCE,BETA,...: fits only that source of the recipe and blends the same customers with it alone, as a
 * recipe serves a single source's new items (bench/README "Coverage of a single source's new items"), once per
 * discovery-discount beta (default 0 and 0.3), in 5 alternating rounds: the per-customer cost of the re-rank.
 */
import { buildDataset } from '../src/recommenders/dataset.js';
import { datasetHistories, userContext } from '../src/recommenders/history.js';
import { loadavg } from 'node:os';
import { buyerCount, createBlendScratch, createHybrid, itemBuyerCounts } from '../src/recommenders/hybrid.js';
import { recommenderFactory } from '../src/recommenders/registry.js';
import { fitRecipe, loadRecipe } from '../src/training/recipe.js';
import { dataFile, inMemoryCopies, loadOnlineRetail, withoutDataArg } from './lib/online-retail.js';

const args = withoutDataArg();
const singleAt = args.indexOf('--single');
const single = singleAt >= 0 ? args.splice(singleAt, 2)[1].split(',') : undefined;
const at = args.indexOf('--recipe');
const recipeName = at >= 0 ? args.splice(at, 2)[1] : 'default';
const copies = Number(args[0] ?? 4);
const { events } = inMemoryCopies(await loadOnlineRetail(dataFile()), copies);
const ds = buildDataset({ events });
const recipe = await loadRecipe(recipeName);
const histories = datasetHistories(ds);
const users = Array.from({ length: 2000 }, (_, i) => Math.floor((i * ds.userIds.length) / 2000));
if (single) {
  const [name, ...betaArgs] = single;
  const betas = betaArgs.length > 0 ? betaArgs.map(Number) : [0, 0.3];
  const started = performance.now();
  const source = recommenderFactory(recipe.sources[name].recommender)!.fit(ds, recipe.sources[name].params);
  console.log(`${copies}x: ${ds.userIds.length} customers, ${ds.itemIds.length} products; ${name} alone fitted in ${((performance.now() - started) / 1000).toFixed(1)} s; load average ${loadavg()[0].toFixed(1)}`);
  const buyers = itemBuyerCounts(ds);
  const perBeta = new Map<number, number[]>(betas.map((b) => [b, []]));
  for (let round = 0; round < 5; round++) {
    for (const beta of round % 2 === 0 ? betas : [...betas].reverse()) {
      const hybrid = createHybrid(new Map([[name, source]]), { ...recipe.hybrid, sourceCap: undefined, repeatWeights: undefined, weights: { cold: { [name]: 1 }, warm: { [name]: 1 } }, popularityDiscount: beta }, buyers, buyerCount(ds));
      const scratch = createBlendScratch(ds.itemIds.length);
      const t = performance.now();
      for (const u of users) hybrid.blendSparse(userContext(ds, histories, u), scratch);
      perBeta.get(beta)!.push((performance.now() - t) / users.length);
    }
  }
  for (const [beta, ms] of perBeta) console.log(`${name} alone, discount ${beta}: ${[...ms].sort((a, b) => a - b)[2].toFixed(3)} ms per customer (median of 5 rounds: ${ms.map((x) => x.toFixed(3)).join(' ')}); load average ${loadavg()[0].toFixed(1)}`);
  process.exit(0);
}
const fitted = await fitRecipe(ds, recipe);
console.log(`${copies}x: ${ds.userIds.length} customers, ${ds.itemIds.length} products; recipe ${recipeName}`);
for (const without of ['', ...['user-knn', 'als'].filter((s) => s in recipe.sources)]) {
  const drop = (w: Record<string, number>) => Object.fromEntries(Object.entries(w).filter(([s]) => s !== without));
  const hybrid = createHybrid(fitted.sources, { ...recipe.hybrid, weights: { cold: drop(recipe.hybrid.weights.cold), warm: drop(recipe.hybrid.weights.warm) } }, itemBuyerCounts(ds));
  const scratch = createBlendScratch(ds.itemIds.length);
  let candidates = 0;
  const started = performance.now();
  for (const u of users) {
    hybrid.blendSparse(userContext(ds, histories, u), scratch);
    candidates += scratch.blend.size;
  }
  const ms = (performance.now() - started) / users.length;
  console.log(`${without ? `without ${without}` : 'every source'}: ${ms.toFixed(2)} ms per customer, ${Math.round(candidates / users.length)} candidates`);
}
