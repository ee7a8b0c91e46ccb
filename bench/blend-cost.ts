/**
 * What each source costs the hybrid's per-customer blend (the serving build's inner loop) at N copies of
 * UCI Online Retail (re-keyed, disjoint, as bench/scale.ts makes them, but in memory):
 *
 *   npx tsx bench/blend-cost.ts [COPIES] [--recipe NAME] [--data FILE]
 *
 * Fits the recipe (as written, no tuning) on all the data, then blends 2,000 customers spread over the
 * customer list in one thread, with every source and without each of a few, and prints milliseconds per
 * customer and candidates per customer. The file: --data FILE, else ONLINE_RETAIL_CSV, else
 * ../shared/datasets/online-retail/online-retail.csv.gz.
 */
import { buildDataset } from '../src/recommenders/dataset.js';
import { datasetHistories, userContext } from '../src/recommenders/history.js';
import { createBlendScratch, createHybrid, itemBuyerCounts } from '../src/recommenders/hybrid.js';
import { fitRecipe, loadRecipe } from '../src/training/recipe.js';
import { dataFile, inMemoryCopies, loadOnlineRetail, withoutDataArg } from './lib/online-retail.js';

const args = withoutDataArg();
const at = args.indexOf('--recipe');
const recipeName = at >= 0 ? args.splice(at, 2)[1] : 'default';
const copies = Number(args[0] ?? 4);
const { events } = inMemoryCopies(await loadOnlineRetail(dataFile()), copies);
const ds = buildDataset({ events });
const recipe = await loadRecipe(recipeName);
const fitted = await fitRecipe(ds, recipe);
const histories = datasetHistories(ds);
const users = Array.from({ length: 2000 }, (_, i) => Math.floor((i * ds.userIds.length) / 2000));
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
