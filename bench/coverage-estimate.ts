/**
 * Tuning's coverage estimated for every customer's lists from its sample's (issue 11, fifty-second session):
 * how close is the extrapolation (src/evaluation/coverage-estimate.ts) to the coverage every customer's lists
 * reach, and does tuning with it (tune.coverageEstimate `extrapolated`) serve better held out? Validation only:
 * every period scored is the 30 days from an outer date before the shop's test period.
 *
 *   npx tsx bench/coverage-estimate.ts [DIR] [--dates D1,D2,D3] [--tune ARM[,ARM...]] [--margin M] [--threads N] [--sample-count] [--data FILE]
 *
 * DIR and the dates as in bench/choice-rule.ts (a generic shop's default outer dates: the three 30-day windows
 * before its last 30 days; Online Retail's: 2011-06-01, 07-01, 08-01).
 *
 * Without --tune (accuracy): per outer date D it fits the default recipe's sources on every purchase before D
 * (bench/lib/held-out-fold.ts) and, for the recipe's written blend, the same blend without its discount and with
 * beta 1, and every source that lists new items alone, counts novel (and all-mode) coverage on the 30 days from
 * D three ways: over every customer's lists (the truth), over the lists of tuning's customer sample at D
 * (tuning-sample.ts, tune.maxCustomers; the count tuning makes today) and extrapolated from the sample's lists to
 * every customer's (the estimate). The sample's lists are those same customers' lists from the same fitted sources
 * (the customers axis only: tuning's folds also fit ALS, content, buy-again and repurchase on the sample).
 *
 * With --tune RULE (judging): per outer date it tunes the default recipe on the data before D as a training does,
 * with tune.coverageEstimate RULE, then scores the served recipe held out on every customer (novel and all-mode
 * NDCG@10, recall@10, novel coverage) and counts its coverage the three ways above, beside the windows' coverage
 * tuning judged. The last line is JSON (`summary {...}`).
 *
 * ARM is `sample`, `extrapolated` or `every-customer` (tune.coverageEstimate), or `extrapolated-margin` (fifty-third session):
 * `extrapolated` with the coverage floor raised by M (default 0.03: tune.minCoverage 0.30 -> 0.33) when tuning's
 * sample leaves customers out at D, so an estimate on the floor is not served below it half the time; where the
 * sample keeps every customer the count is exact and the floor stays. `every-customer-margin` (fifty-sixth session) is
 * `every-customer` with the recipe option tune.coverageMargin M (the windows held at minCoverage + M where the sample
 * leaves customers out); `every-customer-least` is `every-customer` with the floor held on the least covered window
 * (coverageOn least). TUNE_LOG=1 prints tuning's progress. Several arms in one process tune one after
 * the other and share the held-out fits where their served sources are alike. --sample-count prints, per date, how
 * many customers tuning's sample keeps of those who bought before it, and nothing else (no tuning). --max-customers N
 * sets tune.maxCustomers for every arm (at the shop's size the windows count every customer's lists).
 */
import { loadavg } from 'node:os';
import { scoreBlend, type BlendConfig, type BlendScores } from '../src/evaluation/blend-cache.js';
import type { RollingFold } from '../src/evaluation/rolling-fold.js';
import type { RollingValidation } from '../src/evaluation/rolling-tune.js';
import type { RowSplitInput } from '../src/evaluation/splits.js';
import { sampleCustomers } from '../src/evaluation/tuning-sample.js';
import { COVERAGE_ESTIMATES, type CoverageEstimateRule } from '../src/evaluation/coverage-estimate.js';
import type { HybridConfig } from '../src/recommenders/hybrid.js';
import { loadRecipe, tuningSampleBounds, withTuning, type Recipe } from '../src/training/recipe.js';
import { tuneRecipeOn } from '../src/training/tune-for-training.js';
import { heldOutFold } from './lib/held-out-fold.js';
import { subsetCache } from './lib/subset-cache.js';
import { readGenericShop } from './lib/generic-shop.js';
import { loadOnlineRetail } from './lib/online-retail.js';
import { shopBenchArgs } from './lib/shop-bench-args.js';

const DAY = 86_400_000;
const { dir, values, dataFile, usageError } = shopBenchArgs(
  'usage: npx tsx bench/coverage-estimate.ts [DIR] [--dates D1,D2,D3] [--test-start DATE] [--tune sample|extrapolated|every-customer|extrapolated-margin|every-customer-least|every-customer-margin[,...]] [--margin M] [--max-customers N] [--threads N] [--sample-count] [--data FILE]',
  {
    dates: { type: 'string' },
    'test-start': { type: 'string' },
    tune: { type: 'string' },
    margin: { type: 'string', default: '0.03' },
    // --max-customers N (fifty-fourth session): tune.maxCustomers for every arm; at the shop's size the windows count every customer's lists.
    'max-customers': { type: 'string' },
    threads: { type: 'string', default: '1' },
    'sample-count': { type: 'boolean' },
  },
);
const { dates: datesArg, 'test-start': testStartArg, tune: tuneOption, 'max-customers': maxCustomersArg, 'sample-count': sampleCount } = values;
const ARMS = [...COVERAGE_ESTIMATES, 'extrapolated-margin', 'every-customer-least', 'every-customer-margin'] as const;
type Arm = (typeof ARMS)[number];
const arms = tuneOption === undefined ? [] : (tuneOption.split(',') as Arm[]);
const tuneArg = arms.length > 0 ? arms.join(',') : undefined;
const margin = Number(values.margin);
const threads = Number(values.threads);
if (arms.some((a) => !ARMS.includes(a))) usageError(`--tune ${tuneOption}: not an arm`);
if (!(margin >= 0 && margin < 1)) usageError(`--margin ${values.margin}: from 0 to under 1`);
const iso = (ms: number) => new Date(ms).toISOString();
const f3 = (x: number) => x.toFixed(3);
const f4 = (x: number) => x.toFixed(4);

const t0 = performance.now();
const shop: RowSplitInput = dir ? await readGenericShop(dir) : await loadOnlineRetail(dataFile());
const name = dir ?? 'online-retail';
const purchases = [...shop.events];
const latest = purchases.reduce((m, e) => Math.max(m, e.ts), Number.NEGATIVE_INFINITY);
const testStart = testStartArg ? Date.parse(testStartArg) : dir ? latest + 1 - 30 * DAY : Date.parse('2011-09-01');
const dates = datesArg ? datesArg.split(',').map((d) => Date.parse(d)) : dir ? [3, 2, 1].map((j) => testStart - j * 30 * DAY) : ['2011-06-01', '2011-07-01', '2011-08-01'].map((d) => Date.parse(d));
if (dates.some((d) => !(d + 30 * DAY <= testStart))) throw new Error('an outer date whose 30 days reach the test period: validation only');
console.log(`${name}: ${purchases.length} purchases, read in ${((performance.now() - t0) / 1000).toFixed(1)} s; load average ${loadavg()[0].toFixed(1)}; test period from ${iso(testStart).slice(0, 10)} (not read)`);

const written = await loadRecipe('default');
const recipe: Recipe = maxCustomersArg ? withTuning(written, { ...written.tune!, maxCustomers: Number(maxCustomersArg) }) : written;
if (sampleCount) {
  // Whether tuning's sample leaves customers out at each date (no tuning): where it keeps every one, the options tune as `sample` does.
  for (const at of dates) {
    const drawn = sampleCustomers(shop, tuningSampleBounds(recipe.tune!), at);
    console.log(`${iso(at).slice(0, 10)}: tuning's sample ${drawn.kept} of ${drawn.customers} customers`);
  }
  process.exit(0);
}
type Blend = Pick<HybridConfig, 'weights' | 'repeatWeights'> & { popularityDiscount?: number };

interface Counted {
  every: BlendScores;
  sample: BlendScores;
  estimate: BlendScores;
}

/** A blend's coverage on the fold over every customer, over the sample's customers, and extrapolated from theirs. */
function counted(fold: RollingFold, keep: readonly number[], blend: Blend): Counted {
  const config: BlendConfig = { ...blend, fullHistoryOrders: recipe.hybrid.fullHistoryOrders };
  const every = scoreBlend(fold.cache, config, 10);
  const sample = scoreBlend(subsetCache(fold.cache, keep), config, 10);
  const estimate = scoreBlend(subsetCache(fold.cache, keep, { novel: every.novel.users, all: every.all.users }), config, 10);
  return { every, sample, estimate };
}

const line = (label: string, c: Counted) =>
  `  ${label.padEnd(22)} novel coverage: every ${f3(c.every.novel.coverage)} (${c.every.novel.users} lists) | sample ${f3(c.sample.novel.coverage)} (${c.sample.novel.users}) err ${f3(c.sample.novel.coverage - c.every.novel.coverage)} | estimate ${f3(c.estimate.novel.coverage)} err ${f3(c.estimate.novel.coverage - c.every.novel.coverage)}` +
  ` || all-mode: every ${f3(c.every.all.coverage)} sample ${f3(c.sample.all.coverage)} estimate ${f3(c.estimate.all.coverage)}`;

const rows: Record<string, unknown>[] = [];
/** Held-out fits by date and served sources: arms that serve the same sources share them (only the weights differ). */
const heldOutFits = new Map<string, RollingFold>();
for (const at of dates) for (const arm of arms.length > 0 ? arms : [undefined]) {
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const day = iso(at).slice(0, 10);
  let served: Recipe = recipe;
  let tuning: Record<string, unknown> = {};
  if (arm) {
    const tune = recipe.tune!;
    const drawn = sampleCustomers(shop, tuningSampleBounds(tune), at);
    // every-customer-margin (fifty-sixth session): the recipe option tune.coverageMargin M, which holds the windows at minCoverage + M where the sample leaves customers out.
    const minCoverage = arm === 'extrapolated-margin' && drawn.kept < drawn.customers ? tune.minCoverage + margin : tune.minCoverage;
    const coverageMargin = arm === 'every-customer-margin' ? { coverageMargin: margin } : {};
    const rule: CoverageEstimateRule = arm === 'extrapolated-margin' ? 'extrapolated' : arm === 'every-customer-least' || arm === 'every-customer-margin' ? 'every-customer' : arm;
    const coverageOn = arm === 'every-customer-least' ? ('least' as const) : undefined;
    const progress = process.env.TUNE_LOG ? (m: string) => console.log(`  [tune] ${m}`) : undefined;
    const tuned = await tuneRecipeOn(shop, withTuning(recipe, { ...tune, coverageEstimate: rule, minCoverage, ...coverageMargin }), iso(at), progress, { threads, coverageOn });
    const v = tuned.validation as RollingValidation | { skipped: string };
    if ('skipped' in v) {
      console.log(`${day} ${arm}: tuning skipped (${v.skipped})`);
      continue;
    }
    served = tuned.recipe;
    const cpu = process.cpuUsage(cpu0);
    tuning = { arm, minCoverage, ...coverageMargin, ...(v.coverageMargin ? { heldAt: v.coverageMargin.heldAt } : {}), sample: { kept: drawn.kept, of: drawn.customers }, chosen: v.chosen, windows: { novel: v.scores.novel.ndcg, coverage: v.scores.novel.coverage }, wall: (performance.now() - started) / 1000, cpu: (cpu.user + cpu.system) / 1e6 };
    console.log(`${day}: tuned (${arm}, minCoverage ${minCoverage}${v.coverageMargin ? ` held at ${v.coverageMargin.heldAt}` : ''}, sample ${drawn.kept} of ${drawn.customers} customers) in ${f3((performance.now() - started) / 1000)} s wall, ${f3((cpu.user + cpu.system) / 1e6)} s CPU, load ${loadavg()[0].toFixed(1)}: chose ${v.chosen}; windows' novel NDCG ${f4(v.scores.novel.ndcg)}, coverage ${f3(v.scores.novel.coverage)}`);
    console.log(`  served weights ${JSON.stringify(served.hybrid.weights)} repeat ${JSON.stringify(served.hybrid.repeatWeights ?? null)} discount ${served.hybrid.popularityDiscount}`);
  }
  const fitted = performance.now();
  const fitKey = JSON.stringify([day, served.sources, served.hybrid.fullHistoryOrders, served.hybrid.sourceLimit, served.hybrid.discountShare]);
  for (const key of heldOutFits.keys()) if (!key.startsWith(`["${day}"`)) heldOutFits.delete(key);
  const shared = heldOutFits.get(fitKey);
  const fold = shared ?? heldOutFold(shop, served, at);
  heldOutFits.set(fitKey, fold);
  const scored = new Set(sampleCustomers(shop, tuningSampleBounds(served.tune ?? recipe.tune!), at).scored ?? []);
  const ids = fold.split.train.userIds;
  const keep = fold.cache.users.flatMap((u, j) => (scored.size === 0 || scored.has(ids[u]) ? [j] : []));
  console.log(`${day}: held out on the 30 days from it, sources fitted on every purchase before it in ${f3((performance.now() - fitted) / 1000)} s${shared ? ' (the fits of an arm before, same sources)' : ''}; ${fold.cache.users.length} customers listed, ${keep.length} of them in tuning's sample`);
  const blends: [string, Blend][] = arm
    ? [['served', { weights: served.hybrid.weights, repeatWeights: served.hybrid.repeatWeights, popularityDiscount: served.hybrid.popularityDiscount }]]
    : [
        ['written', { weights: recipe.hybrid.weights, repeatWeights: recipe.hybrid.repeatWeights, popularityDiscount: recipe.hybrid.popularityDiscount }],
        ['written, beta 0', { weights: recipe.hybrid.weights, repeatWeights: recipe.hybrid.repeatWeights, popularityDiscount: 0 }],
        ['written, beta 1', { weights: recipe.hybrid.weights, repeatWeights: recipe.hybrid.repeatWeights, popularityDiscount: 1 }],
        ...['ease', 'als', 'item-knn', 'cooccurrence', 'content', 'popularity', 'trend'].filter((s) => s in recipe.sources).map((s): [string, Blend] => [`${s} alone`, { weights: { cold: { [s]: 1 }, warm: { [s]: 1 } } }]),
      ];
  for (const [label, blend] of blends) {
    const c = counted(fold, keep, blend);
    console.log(line(label, c));
    const heldOut = c.every;
    if (arm) console.log(`  held out (every customer): novel ${f4(heldOut.novel.ndcg)} all ${f4(heldOut.all.ndcg)} recall ${f4(heldOut.novel.recall)} cov ${f3(heldOut.novel.coverage)}`);
    rows.push({ date: day, blend: label, ...tuning, every: { novel: heldOut.novel, all: heldOut.all }, sample: { novel: c.sample.novel.coverage, all: c.sample.all.coverage, lists: c.sample.novel.users }, estimate: { novel: c.estimate.novel.coverage, all: c.estimate.all.coverage } });
  }
}
const abs = (key: 'sample' | 'estimate') => rows.reduce((a, r: any) => a + Math.abs(r[key].novel - r.every.novel.coverage), 0) / Math.max(1, rows.length);
const rel = (key: 'sample' | 'estimate') => rows.reduce((a, r: any) => a + (r.every.novel.coverage > 0 ? Math.abs(r[key].novel / r.every.novel.coverage - 1) : 0), 0) / Math.max(1, rows.length);
console.log(`mean absolute error of novel coverage over ${rows.length} rows: sample ${f3(abs('sample'))} (relative ${f3(rel('sample'))}), estimate ${f3(abs('estimate'))} (relative ${f3(rel('estimate'))})`);
console.log(`summary ${JSON.stringify({ shop: name, tune: tuneArg ?? null, rows })}`);
