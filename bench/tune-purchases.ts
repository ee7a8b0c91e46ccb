/**
 * tune.maxPurchases on a shop of heavy buyers: what tuning costs, and what its smaller sample costs out of sample.
 *
 *   N_ITEMS=10000 N_USERS=15000 WEEKLY_SHARE=1 BASKET=5 python3 bench/lib/synthetic-shop.py DIR
 *   npx tsx bench/tune-purchases.ts DIR [--customers N] [--scale F] [--only customers|purchases] [--threads 2]
 *
 * Reads DIR's generic CSVs (docs/import-formats.md) into memory, no database; `--customers N` keeps N of the
 * shop's customers (the first N of tuning's draw, each with every purchase). The last 30 days are held
 * out: for each tune section, the customer bound alone (`customers`: tune.maxPurchases past the shop's
 * purchases, the sample tuning drew before the purchase bound) and both bounds (`purchases`: the
 * defaults), each bound times `--scale` (default 1), it tunes the default recipe as a training does on
 * the data before them (tuneRecipeOn) and prints the wall and CPU time (all threads), the customers and
 * purchases tuned on and the tuned objective per window. Then it fits the tuned recipe on every customer's
 * purchases before the held-out days and scores it on them: novel and all-mode NDCG@10 and novel
 * coverage, out of sample for the tuning (nothing else was chosen on those days).
 */
import { cpus, loadavg } from 'node:os';
import { heldOutFold } from './lib/held-out-fold.js';
import type { RollingValidation } from '../src/evaluation/rolling-tune.js';
import { inputRows } from '../src/evaluation/splits.js';
import { sampleCustomers } from '../src/evaluation/tuning-sample.js';
import { DEFAULT_MAX_PURCHASES, loadRecipe, withTuning, type Recipe } from '../src/training/recipe.js';
import { tuneRecipeOn } from '../src/training/tune-for-training.js';
import { readGenericShop } from './lib/generic-shop.js';
import { optionTaker } from './lib/online-retail.js';

const args = process.argv.slice(2);
const option = optionTaker(args);
const keepCustomers = option('--customers');
const scale = Number(option('--scale') ?? 1);
const only = option('--only');
const threads = Number(option('--threads') ?? 2);
const dir = args[0];
if (!dir || args.length > 1) {
  console.error('usage: npx tsx bench/tune-purchases.ts DIR [--customers N] [--scale F] [--only customers|purchases] [--threads 2]');
  process.exit(2);
}
const DAY = 86_400_000;

const t0 = performance.now();
const { events, items, users } = await readGenericShop(dir);
let shop = { events, items, users };
if (keepCustomers) {
  const drawn = sampleCustomers(shop, Number(keepCustomers)).input;
  shop = { events: inputRows(drawn), items, users: [...drawn.users!] };
}
const buyers = new Set(shop.events.map((e) => e.userId)).size;
const heldFrom = shop.events.at(-1)!.ts + 1 - 30 * DAY;
const iso = (ms: number) => new Date(ms).toISOString();
console.log(`${dir}: ${shop.events.length} purchases of ${buyers} customers (${(shop.events.length / buyers).toFixed(0)} each), ${items.length} products; read in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log(`held out: ${iso(heldFrom).slice(0, 10)} to the end (30 days); bounds times ${scale}; ${threads} fold threads`);

const recipe = await loadRecipe('default');
const base = withTuning(recipe, true).tune!;
const sections: [string, Record<string, unknown>][] = [
  ['customers', { ...base, maxCustomers: Math.round(base.maxCustomers * scale), maxPurchases: Number.MAX_SAFE_INTEGER }],
  ['purchases', { ...base, maxCustomers: Math.round(base.maxCustomers * scale), maxPurchases: Math.round(DEFAULT_MAX_PURCHASES * scale) }],
];
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const f4 = (x: number) => x.toFixed(4);
for (const [label, tune] of sections) {
  if (only && only !== label) continue;
  const w0 = performance.now();
  const c0 = cpu();
  const tuned = await tuneRecipeOn(shop, withTuning(recipe, tune), iso(heldFrom), undefined, { threads });
  const wall = (performance.now() - w0) / 1000;
  const spent = cpu() - c0;
  const v = tuned.validation as RollingValidation | { skipped: string };
  if ('skipped' in v) {
    console.log(`${label}: tuning skipped: ${v.skipped}`);
    continue;
  }
  console.log(`${label}: tuned on ${v.customers?.used} of ${v.customers?.of} customers, ${v.purchases?.used} of ${v.purchases?.of} purchases: ${wall.toFixed(1)} s wall, ${spent.toFixed(1)} s cpu (load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores)`);
  console.log(`  chose ${v.chosen}; objective per window ${v.objective.blend.map(f4).join(' ')}; params ${JSON.stringify(v.params)}; warm ${JSON.stringify(tuned.recipe.hybrid.weights.warm)}`);
  const s0 = performance.now();
  const r: Recipe = tuned.recipe;
  const fold = heldOutFold(shop, r, heldFrom);
  const score = fold.score({ weights: r.hybrid.weights, repeatWeights: r.hybrid.repeatWeights, popularityDiscount: r.hybrid.popularityDiscount });
  console.log(`  held-out 30 days, every customer fitted (${score.novel.users} novel / ${score.all.users} all-mode customers): novel NDCG@10 ${f4(score.novel.ndcg)}, novel coverage ${score.novel.coverage.toFixed(3)}, all-mode NDCG@10 ${f4(score.all.ndcg)} (${((performance.now() - s0) / 1000).toFixed(1)} s)`);
}
