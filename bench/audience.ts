/**
 * Audience benchmark on UCI Online Retail: "who will buy this product?".
 *
 *   npx tsx bench/audience.ts [RECIPE] [--data FILE] [--k 100] [--gammas -1,-0.5,0,0.5,1]
 *
 * 1. Validation (before the cutoff only): trains the recipe on purchases before 2011-10-02 and scores
 *    the audience of every item bought 2011-10-02..2011-11-01 for each propensity exponent gamma; the
 *    best gamma is chosen here.
 * 2. Test, once: trains on purchases before 2011-11-01 exactly as a training job does (computeModel,
 *    TRAIN_THREADS = 2), and prints recall@K of the audience with the chosen gamma beside the baselines
 *    "most active customers" and "buyers of the same category" (src/evaluation/audience-eval.ts).
 *
 * Data: --data FILE, else $ONLINE_RETAIL_CSV, else ../shared/datasets/online-retail/online-retail.csv.gz
 * relative to the repository root.
 */
import { rankAudience, type AudienceIndex } from '../src/audiences/audience-index.js';
import { audienceOfComputed } from '../src/audiences/computed-audience.js';
import { audienceRecall, audienceTestItems, mostActiveRanker, priorBuyers, sameCategoryRanker } from '../src/evaluation/audience-eval.js';
import { temporalSplit, validationSplit, type EvaluationSplit } from '../src/evaluation/splits.js';
import { computeModel } from '../src/training/compute-model.js';
import { dataFile as checkedDataFile, loadOnlineRetail, withoutDataArg, benchRecipe, optionTaker } from './lib/online-retail.js';

const file = checkedDataFile();
const args = withoutDataArg();
const flag = optionTaker(args);
const k = Number(flag('--k') ?? 100);
const gammas = (flag('--gammas') ?? '-1,-0.5,0,0.5,1').split(',').map(Number);
const recipe = await benchRecipe(args[0] ?? 'default');
const CUTOFF = Date.parse('2011-11-01T00:00:00Z');

const t0 = performance.now();
const seconds = (from: number) => ((performance.now() - from) / 1000).toFixed(1);
const input = await loadOnlineRetail(file);
console.log(`loaded ${input.events.length} purchases in ${seconds(t0)} s; recipe ${recipe.name}, K = ${k}`);

/** Trains on the split's train part as a training job does and returns the audience index. */
async function fit(split: EvaluationSplit) {
  const started = performance.now();
  const computed = await computeModel(split.train, recipe, { storeRecommenders: false, threads: 2, precomputeDays: 365 });
  const { index } = audienceOfComputed(computed);
  console.log(`  trained on ${split.train.userIds.length} customers, ${split.train.itemIds.length} items in ${seconds(started)} s`);
  return index;
}

/** The audience ranker over train customer indices of the split's dataset. */
function audienceRanker(split: EvaluationSplit, index: AudienceIndex, gamma: number) {
  const toTrain = Int32Array.from(index.userIds, (id) => split.train.userIndex.get(id) ?? -1);
  return (item: number, kk: number) =>
    rankAudience(index, { targets: [item], k: kk, gamma, excludeBuyersSince: -Infinity }).map((m) => toTrain[m.user]);
}

console.log('\nvalidation: train before 2011-10-02, audiences of 2011-10-02..2011-11-01');
const validation = validationSplit(input, { end: CUTOFF, days: 30 });
const vIndex = await fit(validation);
const vItems = audienceTestItems(validation.test.novel);
let best = { gamma: gammas[0], recall: -1 };
for (const gamma of gammas) {
  const recall = audienceRecall(vItems, audienceRanker(validation, vIndex, gamma), k);
  console.log(`  gamma ${gamma}: recall@${k} ${recall.toFixed(4)} (${vItems.length} items)`);
  if (recall > best.recall) best = { gamma, recall };
}
console.log(`  chosen gamma ${best.gamma}`);
const vPrior = priorBuyers(validation.train);
console.log(`  (baselines on validation: most active ${audienceRecall(vItems, mostActiveRanker(validation.train, vPrior), k).toFixed(4)}, ` +
  `same category ${audienceRecall(vItems, sameCategoryRanker(validation.train, vPrior), k).toFixed(4)})`);

console.log('\ntest: train before 2011-11-01, audiences of purchases on/after it (reported once)');
const test = temporalSplit(input, CUTOFF);
const tIndex = await fit(test);
const tItems = audienceTestItems(test.test.novel);
const prior = priorBuyers(test.train);
const newBuyers = tItems.reduce((n, t) => n + t.newBuyers.size, 0);
console.log(`  ${tItems.length} items with >= 1 new buyer among ${test.train.userIds.length} known customers (${newBuyers} item-buyer pairs)`);
const rows: [string, number][] = [
  [`audience (hybrid scores, gamma ${best.gamma})`, audienceRecall(tItems, audienceRanker(test, tIndex, best.gamma), k)],
  ['baseline: most active customers', audienceRecall(tItems, mostActiveRanker(test.train, prior), k)],
  ['baseline: buyers of the same category', audienceRecall(tItems, sameCategoryRanker(test.train, prior), k)],
];
for (const [name, recall] of rows) console.log(`  ${name.padEnd(44)} recall@${k} ${recall.toFixed(4)}`);
console.log(`\ntotal ${seconds(t0)} s, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB, load ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
