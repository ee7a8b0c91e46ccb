/**
 * What a `category` filter costs: the mask of the items it takes (src/serving/category-match.ts), built
 * once per catalogue and filter, then read per candidate. A catalogue of --items products (default
 * 36,590: ten times Online Retail's) with path categories from --distinct paths (default 350).
 *
 *   npx tsx bench/category-filter.ts [--items 36590] [--distinct 350]
 */
import { itemsInCategory } from '../src/serving/category-match.js';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const n = Number(option('--items') ?? 36_590);
const distinct = Number(option('--distinct') ?? 350);
const tops = ['Food & Drink', 'Kitchen', 'Home & Garden', 'Gifts', 'Seasonal'];
const path = (k: number) => `${tops[k % tops.length]} > Shelf ${k % 17} > Line ${k}`;
const catalogue = () => Array.from({ length: n }, (_, i) => [path(i % distinct), path((i * 7) % distinct).replace(/ > /g, '/')]);

const ms = (t: number) => `${t.toFixed(2)} ms`;
for (const round of [1, 2, 3]) {
  // A new catalogue each round, as a new model version brings: the masks are built again.
  const categories = catalogue();
  for (const asked of ['kitchen', 'Food & Drink/Shelf 3', 'Nowhere']) {
    const t0 = performance.now();
    const mask = itemsInCategory(categories, asked);
    const built = performance.now() - t0;
    const t1 = performance.now();
    for (let k = 0; k < 1000; k++) itemsInCategory(categories, asked);
    const kept = (performance.now() - t1) / 1000;
    console.log(`round ${round}, "${asked}": ${mask.reduce((s, v) => s + v, 0)} of ${n} items; built in ${ms(built)}, then ${ms(kept)} a request`);
  }
}
