/**
 * What one precomputed customer costs the serving build, source by source, on a shop imported into Postgres:
 *
 *   DATABASE_URL=... npx tsx bench/serving-build-cost.ts [--customers 2000] [--recipe default]
 *
 * Reads the shop's purchases, fits the recipe as written (no tuning) on all of them, then for customers spread
 * over the customer list times each source's sparse scoring (at the hybrid's source depth) and the whole
 * per-customer scorer the build runs (blend, candidates, explanations, single-strategy lists), in one thread.
 */
import { buildDataset } from '../src/recommenders/dataset.js';
import { datasetHistories, userContext } from '../src/recommenders/history.js';
import { createDenseScratch, scoreSparseOf, type HybridRecommender } from '../src/recommenders/hybrid.js';
import { SparseScores } from '../src/recommenders/sparse-scores.js';
import { createUserScorer, prepareServingModel } from '../src/serving/serving-model-builder.js';
import { fitRecipe, loadRecipe } from '../src/training/recipe.js';
import { loadShop } from './lib/shop-input.js';

const args = process.argv.slice(2);
const option = (flag: string, fallback: string) => {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : fallback;
};
const sampleSize = Number(option('--customers', '2000'));
const recipeName = option('--recipe', 'default');

const ds = buildDataset(await loadShop());
const recipe = await loadRecipe(recipeName);
let started = performance.now();
const fitted = await fitRecipe(ds, recipe);
console.log(`${ds.userIds.length} customers, ${ds.itemIds.length} products, ${ds.eventUser.length} purchases; fitted ${recipeName} in ${((performance.now() - started) / 1000).toFixed(1)} s`);

const histories = datasetHistories(ds);
const buyers = Array.from({ length: ds.userIds.length }, (_, u) => u).filter((u) => histories[u].length > 0);
const sample = Array.from({ length: Math.min(sampleSize, buyers.length) }, (_, i) => buyers[Math.floor((i * buyers.length) / Math.min(sampleSize, buyers.length))]);
const depth = (fitted.hybrid as Partial<HybridRecommender>).config?.sourceDepth ?? 1000;
const out = new SparseScores(ds.itemIds.length);
const dense = createDenseScratch();
const rows: [string, number][] = [];
for (const [name, source] of fitted.sources) {
  started = performance.now();
  for (const u of sample) {
    out.clear();
    scoreSparseOf(source, userContext(ds, histories, u), out, depth, dense);
  }
  rows.push([name, (performance.now() - started) / sample.length]);
}
const prepared = prepareServingModel({ ds, fitted, recipe });
const score = createUserScorer({ ...prepared, fitted, itemCount: ds.itemIds.length });
started = performance.now();
for (const u of sample) score(userContext(ds, histories, u), ds.userAttributes[u] ?? {});
const whole = (performance.now() - started) / sample.length;
console.log(`ms per customer over ${sample.length} customers (source depth ${depth}):`);
for (const [name, ms] of rows.sort((a, b) => b[1] - a[1])) console.log(`  ${name.padEnd(14)} ${ms.toFixed(3)}`);
console.log(`  ${'sources'.padEnd(14)} ${rows.reduce((s, [, ms]) => s + ms, 0).toFixed(3)}`);
console.log(`  ${'whole scorer'.padEnd(14)} ${whole.toFixed(3)}  (blend, candidates, explanations, single-strategy lists)`);
