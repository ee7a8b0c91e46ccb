/**
 * How often products nobody bought reach ALS's answers when training sees the whole catalogue, as the
 * service's training does (offline evaluation indexes bought items only): ALS fitted on Online Retail
 * before a cutoff with every product of the file, so those first sold after it are never-bought.
 *
 *   npx tsx bench/als-never-bought.ts [--cutoff 2011-11-01] [--data FILE]
 *
 * Prints how many customers' top-100 candidates and how many bought items' top-10 similar lists hold a
 * never-bought product, and how many never-bought products have a similar list of their own.
 */
import { alsFactory } from '../src/recommenders/als.js';
import { buildDataset } from '../src/recommenders/dataset.js';
import type { HistoryEntry } from '../src/recommenders/recommender.js';
import { SparseScores } from '../src/recommenders/sparse-scores.js';
import { dataFile, loadOnlineRetail, optionTaker, withoutDataArg } from './lib/online-retail.js';

const option = optionTaker(withoutDataArg());
const cutoff = Date.parse(option('--cutoff') ?? '2011-11-01');
const data = await loadOnlineRetail(dataFile());
const ds = buildDataset({ events: data.events.filter((e) => e.ts < cutoff), items: data.items, users: data.users });
const bought = new Uint8Array(ds.itemIds.length);
for (const i of ds.eventItem) bought[i] = 1;
const t0 = performance.now();
const model = alsFactory.fit(ds, alsFactory.parseParams({}));
const fitMs = performance.now() - t0;

const histories = new Map<number, HistoryEntry[]>();
for (let e = 0; e < ds.eventUser.length; e++) {
  const u = ds.eventUser[e];
  if (!histories.has(u)) histories.set(u, []);
  histories.get(u)!.push({ item: ds.eventItem[e], ts: ds.eventTs[e], quantity: 1, order: ds.eventOrder[e] });
}
let customersWith = 0;
for (const [u, history] of histories) {
  const out = new SparseScores(ds.itemIds.length);
  model.scoreSparse!({ user: u, history, attributes: {} }, out, 100);
  for (let p = 0; p < out.size; p++) {
    if (!bought[out.item(p)]) {
      customersWith++;
      break;
    }
  }
}
let lists = 0;
let listsWith = 0;
let strayLists = 0;
for (let i = 0; i < ds.itemIds.length; i++) {
  const near = model.similarItems!(i, 10);
  if (!bought[i]) {
    if (near.length > 0) strayLists++;
    continue;
  }
  lists++;
  if (near.some((nb) => !bought[nb.item])) listsWith++;
}
const never = bought.length - bought.reduce((n, b) => n + b, 0);
console.log(`ALS (default parameters) fitted before ${new Date(cutoff).toISOString().slice(0, 10)} on ${ds.itemIds.length} products (${never} never bought), ${histories.size} customers, in ${(fitMs / 1000).toFixed(1)} s`);
console.log(`customers whose top-100 candidates hold a never-bought product: ${customersWith} of ${histories.size}`);
console.log(`bought products whose top-10 similar list holds a never-bought product: ${listsWith} of ${lists}`);
console.log(`never-bought products with a similar list of their own: ${strayLists} of ${never}`);
