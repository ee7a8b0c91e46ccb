/**
 * Does a discovery discount tuned on a sample of customers do to the whole shop what it did to the sample?
 *
 *   DATABASE_URL=... npx tsx bench/discount-scale.ts --tune-end 2026-09-01 [--window-end 2026-10-01] [--sample 5000]
 *
 * Reads a shop's purchases from DATABASE_URL (imported with `npm run import`), tunes the default recipe as a
 * training does on the data before --tune-end (its sample of tune.maxCustomers customers), then fits the tuned
 * recipe's sources on everything before the 30-day window ending at --window-end (default: --tune-end, the
 * last tuning window), once on the same sample of customers and once on all of them, and prints the tuned
 * blend's novel NDCG@10 and catalog coverage for each discount beta, with buyers counted as they are
 * (discountShare 0) and in shares of the customers (the recipe's discountShare). Reads nothing on or after
 * --window-end.
 */
import { RollingFold } from '../src/evaluation/rolling-fold.js';
import { buyerCount, discountUnit } from '../src/recommenders/hybrid.js';
import { sampleCustomers } from '../src/evaluation/tuning-sample.js';
import { inputRows } from '../src/evaluation/splits.js';
import { loadRecipe, withTuning } from '../src/training/recipe.js';
import { tuneRecipeOn } from '../src/training/tune-for-training.js';
import { loadShop } from './lib/shop-input.js';

const args = process.argv.slice(2);
const option = (flag: string, fallback?: string) => {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : fallback;
};
const tuneEnd = option('--tune-end');
if (!tuneEnd) throw new Error('usage: bench/discount-scale.ts --tune-end DATE [--window-end DATE] [--sample N]');
const windowEnd = new Date(option('--window-end', tuneEnd)!).toISOString();
const sampleSize = Number(option('--sample', '5000'));
const BETAS = [0, 0.1, 0.2, 0.35, 0.5, 0.7, 1];
const f4 = (x: number) => x.toFixed(4);

const { events, items, users } = await loadShop();
const all = { events: [...events].filter((e) => e.ts < Date.parse(windowEnd)), items, users };

const recipe = await loadRecipe('default');
const started = performance.now();
const tuned = (await tuneRecipeOn(all, withTuning(recipe, { ...recipe.tune, maxCustomers: sampleSize }), new Date(tuneEnd).toISOString(), undefined, { threads: 2 })).recipe;
const { weights, repeatWeights, popularityDiscount, discountShare, sourceLimit, fullHistoryOrders } = tuned.hybrid;
console.log(`tuned before ${tuneEnd} on ${sampleSize} customers in ${((performance.now() - started) / 1000).toFixed(0)} s: discount ${popularityDiscount}, weights ${JSON.stringify(weights)}`);
console.log(`window: the 30 days before ${windowEnd}; novel NDCG@10 (share of beta 0's) / catalog coverage`);
console.log(`${'fitted on'.padEnd(26)}${'unit'.padEnd(8)}${BETAS.map((b) => `beta ${b}`.padEnd(24)).join('')}`);

// The customers tuning drew (among those who bought before --tune-end), with their purchases up to --window-end.
const drawn = new Set(inputRows(sampleCustomers({ ...all, events: all.events.filter((e) => e.ts < Date.parse(tuneEnd)) }, sampleSize).input).map((e) => e.userId));
const sample = { events: all.events.filter((e) => drawn.has(e.userId)), items, users: users.filter((u) => drawn.has(u.id)) };
for (const [label, input] of [[`a sample of ${drawn.size}`, sample], ['every customer', all]] as const) {
  const fold = new RollingFold(input, { end: windowEnd, days: 30, k: 10, fullHistoryOrders, depth: sourceLimit ?? 100 });
  for (const [name, s] of Object.entries(tuned.sources)) {
    fold.fit(name, s.recommender, s.params as Record<string, unknown>, 0);
    fold.keep(name, 0);
  }
  let users = 0;
  for (const share of discountShare > 0 ? [0, discountShare] : [0]) {
    // The fold's cache counts buyers in the unit of its own share; the other share's unit is set here.
    fold.cache.discountUnit = discountUnit(share, buyerCount(fold.split.train));
    fold.cache.discounts = undefined;
    const cells = BETAS.map((beta) => fold.score({ weights, repeatWeights, popularityDiscount: beta, modes: ['novel'] }).novel);
    const row = cells.map((c) => `${f4(c.ndcg)} (${((100 * c.ndcg) / cells[0].ndcg).toFixed(0)}%) ${c.coverage.toFixed(3)}`.padEnd(24));
    console.log(`${label.padEnd(26)}${fold.cache.discountUnit.toFixed(1).padEnd(8)}${row.join('')}`);
    users = cells[0].users;
  }
  console.log(`  (${users} novel validation customers; tuned beta ${popularityDiscount})`);
}
