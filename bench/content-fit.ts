/**
 * What fitting the content source costs as the catalogue grows, and a fingerprint of what it found:
 *
 *   npx tsx bench/content-fit.ts [--copies 1,4,16] [--data FILE]   Online Retail, N disjoint copies (texts kept)
 *   DATABASE_URL=... npx tsx bench/content-fit.ts --shop            a shop imported with `npm run import`
 *
 * Fits `content` with the default recipe's params on the purchases and catalogue, then prints the fit's time,
 * the features' longest posting lists, and a SHA-256 of every item's 50 stored neighbours (ids and scores),
 * so two versions of the code can be shown to find the same lists. The file: --data FILE, else
 * ONLINE_RETAIL_CSV, else ../shared/datasets/online-retail/online-retail.csv.gz.
 */
import { createHash } from 'node:crypto';
import { buildDataset, type BuildDatasetInput } from '../src/recommenders/dataset.js';
import { contentFactory } from '../src/recommenders/content.js';
import { itemFeatureMatrix, transposeRows } from '../src/recommenders/tfidf.js';
import { benchRecipe, dataFile, inMemoryCopies, loadOnlineRetail, optionTaker, withoutDataArg } from './lib/online-retail.js';
import { loadShop } from './lib/shop-input.js';

const args = withoutDataArg();
const take = optionTaker(args);
const shop = args.includes('--shop');


const recipe = await benchRecipe('default');
const params = contentFactory.parseParams(recipe.sources.content?.params ?? {});
const inputs: [string, () => Promise<BuildDatasetInput>][] = shop
  ? [['shop', loadShop]]
  : (take('--copies') ?? '1,4,16').split(',').map((c) => [`${c}x`, async () => inMemoryCopies(await loadOnlineRetail(dataFile()), Number(c))]);

console.log('data  products  features  longest postings (top 3)  fit s  neighbours sha256');
for (const [label, load] of inputs) {
  const ds = buildDataset(await load());
  const { matrix } = itemFeatureMatrix(ds.items, ds.items.map((i) => i.price), params);
  const inverted = transposeRows(matrix);
  const lengths = Array.from({ length: inverted.rows }, (_, f) => inverted.indptr[f + 1] - inverted.indptr[f]).sort((a, b) => b - a);
  const started = performance.now();
  const model = contentFactory.fit(ds, params);
  const seconds = (performance.now() - started) / 1000;
  const hash = createHash('sha256');
  for (let i = 0; i < ds.itemIds.length; i++) {
    for (const n of model.similarItems?.(i, params.neighbours) ?? []) hash.update(`${ds.itemIds[i]}>${ds.itemIds[n.item]}:${n.score};`);
  }
  console.log(`${label.padEnd(6)}${String(ds.itemIds.length).padStart(8)}${String(matrix.cols).padStart(10)}  ${lengths.slice(0, 3).join(' / ').padEnd(24)}${seconds.toFixed(1).padStart(7)}  ${hash.digest('hex').slice(0, 16)}`);
}
