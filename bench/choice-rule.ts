/**
 * Choosing between the tuned blend and the best single source: which rule over the validation windows
 * serves the better recipe on the 30 days after them? Validation only unless --test.
 *
 *   npx tsx bench/choice-rule.ts [--dates 2011-06-01,2011-07-01,2011-08-01] [--data FILE]
 *   npx tsx bench/choice-rule.ts DIR [--test-start DATE] [--dates D1,D2,D3]
 *   npx tsx bench/choice-rule.ts [DIR] --test [--test-start DATE]
 *
 * The shop: Online Retail (--data FILE, else ONLINE_RETAIL_CSV, else the default beside the repository),
 * or DIR, a directory of generic import CSVs (docs/import-formats.md) read into memory. A generic shop's
 * test period is the 30 days from --test-start (default: the last 30 days of its data); its outer dates
 * default to the starts of the three 30-day windows just before it, so the latest ends where the test
 * period starts. Online Retail's default outer dates end before its first test cutoff (2011-09-01).
 *
 * Per outer date D it tunes the default recipe on the data before D exactly as a training does
 * (tuneRecipeOn), prints per validation window the tuned blend's and every single source's judged
 * objective (novel + all-mode NDCG@10, less the coverage shortfall) and the best single source, then fits
 * on every purchase before D (a) the tuned blend, (b) the best single source alone and (c) EASE alone
 * (reference) and scores each on the 30 days from D: novel and all-mode NDCG@10, recall@10 (novel) and
 * novel coverage. Then, per candidate rule (d_w = blend's objective minus the best single's on window w):
 *   R0 every d_w > 0 (the rule before the forty-third session), R1 mean(d) > 0,
 *   R2 mean(d) > sd(d)/sqrt(n), R3 mean(d) > 0 and d_w > 0 on a strict majority of windows,
 * which of (a)/(b) it serves and that choice's held-out novel and all-mode NDCG@10. A blend the tuner
 * refused because it weights only capped sources for warm customers is (b) under every rule. The last
 * Then, per keep rule (src/evaluation/keep-rule.ts: `sum`, the blend whole or the best single source whole;
 * `per-mode`, new and own items judged apart), from the same tuning: who serves new and own items, and
 * that recipe's held-out scores. Then issue 11's tuning rules (2) `best-single` coverage floor, (3) `recency`
 * fold weights, and both (src/evaluation/tuning-rules.ts), each searched on the same fits (tuning's `compare`):
 * each one's tuned blend as each keep rule serves it, scored held out beside the lines above. The last line is
 * the summary as JSON (`summary {...}`). Since the forty-ninth session also `(3n)`, fold weights
 * `recency-new-items` (recency for the weights on new items only), and the keep rule `per-mode-single`; where
 * a keep rule serves a single source's new items beside other own-item weights, that source alone is scored too.
 *
 * --no-compare: no rule sets (2), (3), (2)+(3), (3n) are searched beside the default's (their lines and the
 * per-tuning-rule means are then left out): each keep rule in KEEP_RULES (since the fiftieth session also
 * `per-mode-majority`; since the fifty-first session `per-mode-trimmed` and `per-mode-outlier`) on the default's
 * tuning only, for dates where the four extra blend searches are too slow.
 *
 * --single-source: tuning re-ranks a single source's new items for coverage (single-source-coverage.ts, its
 * `discount` option) and compares no rule sets; per date it prints the served recipe held out without the
 * re-rank (the keep rule's decision, as `off` serves it) and with it (the published recipe).
 *
 * --test reads the test period instead (once, after a rule was chosen and committed): tunes the default
 * recipe on the data before --test-start as a training does (with the rule in the code) and scores it
 * beside EASE, ALS, item-kNN, popularity and buy-again alone on the 30 days from there.
 */
import { loadavg } from 'node:os';
import { RollingFold } from '../src/evaluation/rolling-fold.js';
import { heldOutFold } from './lib/held-out-fold.js';
import type { RollingValidation } from '../src/evaluation/rolling-tune.js';
import type { RowSplitInput } from '../src/evaluation/splits.js';
import type { BlendScores } from '../src/evaluation/blend-cache.js';
import type { HybridConfig } from '../src/recommenders/hybrid.js';
import { KEEP_RULES, servedWeights } from '../src/evaluation/keep-rule.js';
import type { TuningRules } from '../src/evaluation/tuning-rules.js';
import { loadRecipe, tuningSampleBounds, withTuning, type Recipe } from '../src/training/recipe.js';
import { sampleCustomers } from '../src/evaluation/tuning-sample.js';
import { tuneRecipeOn } from '../src/training/tune-for-training.js';
import { readGenericShop } from './lib/generic-shop.js';
import { loadOnlineRetail } from './lib/online-retail.js';
import { shopBenchArgs } from './lib/shop-bench-args.js';

const DAY = 86_400_000;
const { dir, values, dataFile } = shopBenchArgs(
  'usage: npx tsx bench/choice-rule.ts [DIR] [--dates D1,D2,D3] [--test-start DATE] [--test] [--no-compare] [--single-source] [--coverage-counts] [--threads N] [--log] [--data FILE] (see the comment at the top)',
  {
    dates: { type: 'string' },
    'test-start': { type: 'string' },
    test: { type: 'boolean' },
    log: { type: 'boolean' },
    // --single-source: tune with the single source's coverage re-rank (single-source-coverage.ts) and no rule sets to
    // compare, and score held out the recipe served without it (`off`, the keep rule's decision) and with it.
    'single-source': { type: 'boolean' },
    // --no-compare: tune without issue 11's rule sets (2), (3), (2)+(3), (3n) beside the default's (one blend search a
    // date instead of five): the keep rules on the default's tuning only, for runs where the comparisons are too slow.
    'no-compare': { type: 'boolean' },
    // --coverage-counts: per date, the served recipe's novel coverage counted each way tuning and the held-out
    // report could count it (issue 11, fifty-first session): on the windows (what tuning judged), held out on every
    // customer, and held out on tuning's customer sample with its sources fitted as tuning's folds fit them.
    'coverage-counts': { type: 'boolean' },
    threads: { type: 'string', default: '2' },
  },
);
const { dates: datesArg, 'test-start': testStartArg, test, log: logTuning, 'single-source': singleSource, 'no-compare': noCompare, 'coverage-counts': coverageCounts } = values;
const threads = Number(values.threads);
const iso = (ms: number) => new Date(ms).toISOString();
const f4 = (x: number) => x.toFixed(4);
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const t0 = performance.now();
const shop: RowSplitInput = dir ? await readGenericShop(dir) : await loadOnlineRetail(dataFile());
const name = dir ?? 'online-retail';
const purchases = [...shop.events];
const latest = purchases.reduce((m, e) => Math.max(m, e.ts), Number.NEGATIVE_INFINITY);
const testStart = testStartArg ? Date.parse(testStartArg) : dir ? latest + 1 - 30 * DAY : Date.parse('2011-09-01');
const dates = datesArg ? datesArg.split(',').map((d) => Date.parse(d)) : dir ? [3, 2, 1].map((j) => testStart - j * 30 * DAY) : ['2011-06-01', '2011-07-01', '2011-08-01'].map((d) => Date.parse(d));
console.log(`${name}: ${purchases.length} purchases, read in ${((performance.now() - t0) / 1000).toFixed(1)} s; load average ${loadavg()[0].toFixed(1)}`);

const recipe = await loadRecipe('default');
type Weights = HybridConfig['weights'];
type Blend = { weights: Weights; repeatWeights?: Weights; popularityDiscount?: number };
const alone = (source: string): Blend => ({ weights: { cold: { [source]: 1 }, warm: { [source]: 1 } } });

/**
 * `r`'s sources fitted on every purchase before `from`, to be scored on the 30 days from there. With `scored`
 * (tuning's customer sample), only those customers are scored and the sources tuning's folds fit on the sample
 * are fitted on it (rolling-fold.ts POPULATION_FITTED), as a fold of tuning would.
 */
function heldOut(r: Recipe, from: number, scored?: readonly string[]): RollingFold {
  return heldOutFold(shop, r, from, scored);
}

const cells = (s: BlendScores) => `novel ${f4(s.novel.ndcg)} all ${f4(s.all.ndcg)} recall ${f4(s.novel.recall)} cov ${s.novel.coverage.toFixed(3)}`;
/** Novel coverage both ways blend-cache.ts counts it: distinct / catalogue, and reach (distinct / min(catalogue, k x lists)), with the lists counted. */
const counts = (s: BlendScores) => `coverage ${s.novel.coverage.toFixed(3)} reach ${s.novel.reach.toFixed(3)} over ${s.novel.users} novel lists`;

if (test) {
  const started = performance.now();
  const tuned = await tuneRecipeOn(shop, withTuning(recipe, recipe.tune ?? true), iso(testStart), undefined, { threads });
  const v = tuned.validation as RollingValidation | { skipped: string };
  const r = tuned.recipe;
  console.log(`test period ${iso(testStart).slice(0, 10)} + 30 days; tuned on the data before it in ${((performance.now() - started) / 1000).toFixed(0)} s: ${'skipped' in v ? v.skipped : `chose ${v.chosen} (best single ${v.bestSingle})`}`);
  if (!('skipped' in v)) console.log(`  objective per window: blend ${v.objective.blend.map(f4).join(' ')}, ${v.bestSingle} ${v.objective.sources[v.bestSingle].map(f4).join(' ')}`);
  console.log(`  served weights ${JSON.stringify(r.hybrid.weights)} repeat ${JSON.stringify(r.hybrid.repeatWeights ?? null)} discount ${r.hybrid.popularityDiscount}`);
  // The hyperparameters tuning chose (on a catalogue with groups, whether ALS and EASE learn per group): the sources alone below are these.
  if (!('skipped' in v)) console.log(`  tuned params ${JSON.stringify(v.params)}`);
  const fold = heldOut(r, testStart);
  const rows: [string, Blend][] = [['default (tuned)', { weights: r.hybrid.weights, repeatWeights: r.hybrid.repeatWeights, popularityDiscount: r.hybrid.popularityDiscount }], ...['ease', 'als', 'item-knn', 'popularity', 'buy-again'].map((s): [string, Blend] => [s, alone(s)])];
  const out: Record<string, BlendScores> = {};
  for (const [label, blend] of rows) {
    out[label] = fold.score(blend);
    console.log(`  ${label.padEnd(16)} ${cells(out[label])}`);
  }
  console.log(`summary ${JSON.stringify({ shop: name, test: iso(testStart), chosen: 'skipped' in v ? 'skipped' : v.chosen, scores: out })}`);
  process.exit(0);
}

/** The candidate rules, fixed before any number was seen: whether each keeps the blend, given d per window. */
const RULES: Record<string, (d: number[]) => boolean> = {
  R0: (d) => d.every((x) => x > 0),
  R1: (d) => mean(d) > 0,
  R2: (d) => {
    const m = mean(d);
    const sd = Math.sqrt(d.reduce((a, x) => a + (x - m) ** 2, 0) / (d.length - 1));
    return m > sd / Math.sqrt(d.length);
  },
  R3: (d) => mean(d) > 0 && d.filter((x) => x > 0).length * 2 > d.length,
};

/** Issue 11's tuning rules (2) and (3) (src/evaluation/tuning-rules.ts), each searched on the same fits as the default's. */
const COMPARED: { label: string; rules: TuningRules }[] = [
  { label: '(2) best-single floor', rules: { coverageFloor: 'best-single', foldWeights: 'equal' } },
  { label: '(3) recency weights', rules: { coverageFloor: 'accuracy-share', foldWeights: 'recency' } },
  { label: '(2)+(3)', rules: { coverageFloor: 'best-single', foldWeights: 'recency' } },
  { label: '(3n) recency on new items', rules: { coverageFloor: 'accuracy-share', foldWeights: 'recency-new-items' } },
];

const summary: Record<string, unknown>[] = [];
for (const at of dates) {
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  // Tuning's own log lines (per source, per rule set, the keep rules' checks) go to stderr with --log.
  const tuned = await tuneRecipeOn(shop, withTuning(recipe, recipe.tune ?? true), iso(at), logTuning ? (m) => console.error(`  [tune] ${m}`) : undefined, singleSource ? { threads, singleSourceCoverage: 'discount' } : noCompare ? { threads } : { threads, compare: COMPARED.map((c) => c.rules) });
  const v = tuned.validation as RollingValidation | { skipped: string };
  if ('skipped' in v) {
    console.log(`${iso(at).slice(0, 10)}: tuning skipped (${v.skipped})`);
    continue;
  }
  const r = tuned.recipe;
  const tuneCpu = process.cpuUsage(cpu0);
  const tuneCost = { wall: (performance.now() - started) / 1000, cpu: (tuneCpu.user + tuneCpu.system) / 1e6, load: loadavg()[0] };
  // The tuned blend: recorded whenever it is not served whole (a half of it may be), else the served recipe.
  const blend: Blend = v.rejectedBlend ?? { weights: r.hybrid.weights, repeatWeights: r.hybrid.repeatWeights, popularityDiscount: r.hybrid.popularityDiscount };
  const best = v.objective.sources[v.bestSingle];
  const d = v.objective.blend.map((o, w) => o - best[w]);
  // Every window won, yet not kept: the tuner refused a blend that weights only capped sources (no rule applies).
  // (What the `sum` rule decided: under per-mode a blend winning every window may still be served in halves.)
  const capRefused = (v.keptBy ? v.keptBy.sum.novel !== 'blend' : v.chosen !== 'blend') && d.every((x) => x > 1e-9);
  console.log(`${iso(at).slice(0, 10)}: tuned in ${tuneCost.wall.toFixed(0)} s wall, ${tuneCost.cpu.toFixed(0)} s CPU (this process; load ${tuneCost.load.toFixed(1)}) on ${v.customers?.used} of ${v.customers?.of} customers; tuner chose ${v.chosen}, best single ${v.bestSingle}${capRefused ? ' (blend refused: capped sources only)' : ''}`);
  v.folds.forEach((f, w) => {
    const singles = Object.entries(v.objective.sources).map(([s, o]) => `${s} ${f4(o[w])}`).join(', ');
    console.log(`  window ${f.start.slice(0, 10)}..${f.end.slice(0, 10)}: blend ${f4(v.objective.blend[w])}, best single ${f4(best[w])}, d ${f4(d[w])}; ${singles}`);
  });
  console.log(`  blend weights ${JSON.stringify(blend.weights)} repeat ${JSON.stringify(blend.repeatWeights ?? null)} discount ${blend.popularityDiscount ?? 0}`);
  const h0 = performance.now();
  const fold = heldOut(r, at);
  const held = { blend: fold.score(blend), single: fold.score(alone(v.bestSingle)), ease: fold.score(alone('ease')) };
  console.log(`  held out ${iso(at).slice(0, 10)} + 30 days (${held.blend.novel.users} novel / ${held.blend.all.users} all-mode customers, ${((performance.now() - h0) / 1000).toFixed(0)} s):`);
  console.log(`    (a) blend        ${cells(held.blend)}`);
  console.log(`    (b) ${v.bestSingle.padEnd(12)} ${cells(held.single)}`);
  console.log(`    (c) ease         ${cells(held.ease)}`);
  const rules: Record<string, { serves: 'a' | 'b'; novel: number; all: number }> = {};
  for (const [rule, keeps] of Object.entries(RULES)) {
    const serves = keeps(d) && !capRefused ? 'a' : 'b';
    const s = serves === 'a' ? held.blend : held.single;
    rules[rule] = { serves, novel: s.novel.ndcg, all: s.all.ndcg };
    console.log(`  ${rule} serves (${serves}): held-out novel ${f4(s.novel.ndcg)} all ${f4(s.all.ndcg)} sum ${f4(s.novel.ndcg + s.all.ndcg)}`);
  }
  // The keep rules (keep-rule.ts) on this one tuning: what each serves of the tuned blend, scored held out.
  const tunedBlend = { weights: blend.weights, repeatWeights: blend.repeatWeights, popularityDiscount: blend.popularityDiscount ?? 0 };
  const keep: Record<string, { novel: string; all: string; scores: BlendScores }> = {};
  for (const rule of KEEP_RULES) {
    const decision = v.keptBy![rule];
    const scores = fold.score(servedWeights(decision, tunedBlend));
    keep[rule] = { ...decision, scores };
    console.log(`  keep rule ${rule.padEnd(8)} new items ${decision.novel}, own items ${decision.all}: ${cells(scores)} sum ${f4(scores.novel.ndcg + scores.all.ndcg)}`);
    // Where a single source serves new items beside other own-item weights: that source alone, all-mode held out (task 4).
    if (decision.novel !== 'blend' && decision.all !== decision.novel) console.log(`    ${decision.novel} alone beside it: ${cells(fold.score(alone(decision.novel)))}; on the windows all-mode ${v.modes?.sources[decision.novel]?.all.map(f4).join(' ')}`);
  }
  let coverage: Record<string, unknown> | undefined;
  if (coverageCounts) {
    // What the default serves (its keep rule's decision), counted on the windows, held out on everyone, held out on tuning's sample.
    const served = servedWeights(v.keptBy![v.keepRule ?? 'per-mode-majority'], tunedBlend);
    const everyone = fold.score(served);
    const sample = sampleCustomers(shop, tuningSampleBounds(r.tune!), at);
    const sampled = sample.scored ? heldOut(r, at, sample.scored).score(served) : everyone;
    console.log(`  coverage counts of the served recipe (${v.chosen}):`);
    console.log(`    windows (tuning's count, mean of ${v.folds.length}, ${v.customers?.used} of ${v.customers?.of} customers): ${counts(v.scores)}`);
    console.log(`    held out, every customer: ${counts(everyone)}`);
    console.log(`    held out, tuning's sample (${sample.kept} of ${sample.customers}; sources fitted as tuning's folds): ${counts(sampled)}`);
    coverage = { windows: v.scores.novel, everyone: everyone.novel, sample: sampled.novel };
  }
  // The single source's coverage re-rank: the recipe served without it (the keep rule's decision) and with it (as published).
  let single: Record<string, unknown> | undefined;
  if (singleSource) {
    const ssd = v.singleSourceDiscount;
    const off = fold.score(servedWeights(v.keptBy![v.keepRule ?? 'per-mode-majority'], tunedBlend));
    const on = fold.score({ weights: r.hybrid.weights, repeatWeights: r.hybrid.repeatWeights, popularityDiscount: r.hybrid.popularityDiscount });
    const what = ssd ? `${ssd.source} discount ${ssd.popularityDiscount} (folds: novel ${f4(ssd.without.ndcg)} -> ${f4(ssd.with.ndcg)}, cov ${ssd.without.coverage.toFixed(3)} -> ${ssd.with.coverage.toFixed(3)}), own items ${ssd.served?.all ?? 'as without'}` : 'no single source serves new items';
    console.log(`  single-source coverage: ${what}`);
    console.log(`    off ${cells(off)} sum ${f4(off.novel.ndcg + off.all.ndcg)}`);
    console.log(`    on  ${cells(on)} sum ${f4(on.novel.ndcg + on.all.ndcg)}`);
    single = { searched: ssd ?? null, off, on };
  }
  // Rules (2) and (3): each rule set's own tuned blend (same fits, same folds), served by each keep rule, scored held out.
  const compared: Record<string, Record<string, { novel: string; all: string; scores: BlendScores }>> = {};
  for (const [i, c] of (v.compared ?? []).entries()) {
    const label = COMPARED[i].label;
    compared[label] = {};
    console.log(`  ${label}: blend weights ${JSON.stringify(c.blend.weights)} repeat ${JSON.stringify(c.blend.repeatWeights ?? null)} discount ${c.blend.popularityDiscount}; judged novel ${c.modes.novel.map(f4).join(' ')} | all ${c.modes.all.map(f4).join(' ')}`);
    for (const rule of KEEP_RULES) {
      const decision = c.keptBy[rule];
      const scores = fold.score(servedWeights(decision, c.blend));
      compared[label][rule] = { ...decision, scores };
      console.log(`    ${label} + keep rule ${rule.padEnd(8)} new items ${decision.novel}, own items ${decision.all}: ${cells(scores)} sum ${f4(scores.novel.ndcg + scores.all.ndcg)}`);
      if (decision.novel !== 'blend' && decision.all !== decision.novel) console.log(`      ${decision.novel} alone beside it: ${cells(fold.score(alone(decision.novel)))}`);
    }
  }
  if (v.modes) {
    const m = v.modes;
    console.log(`  per mode (novel judged | all): blend ${m.blend.novel.map(f4).join(' ')} | ${m.blend.all.map(f4).join(' ')}; ${Object.entries(m.sources).map(([s, o]) => `${s} ${o.novel.map(f4).join(' ')} | ${o.all.map(f4).join(' ')}`).join('; ')}`);
  }
  summary.push({ date: iso(at).slice(0, 10), tuneCost, chosen: v.chosen, bestSingle: v.bestSingle, blend: v.objective.blend, best, d, held, rules, keep, compared, modes: v.modes, ...(single ? { single } : {}), ...(coverage ? { coverage } : {}) });
}
const perRule = Object.fromEntries(Object.keys(RULES).map((rule) => [rule, mean(summary.map((s) => { const x = (s.rules as Record<string, { novel: number; all: number }>)[rule]; return x.novel + x.all; }))]));
console.log(`mean held-out objective (novel + all NDCG@10) over ${summary.length} dates: ${Object.entries(perRule).map(([rule, m]) => `${rule} ${f4(m)}`).join(', ')}`);
type Kept = Record<string, { scores: BlendScores }>;
const perKeep = Object.fromEntries(KEEP_RULES.map((rule) => {
  const at = summary.map((s) => (s.keep as Kept)[rule].scores);
  return [rule, { novel: mean(at.map((x) => x.novel.ndcg)), all: mean(at.map((x) => x.all.ndcg)), recall: mean(at.map((x) => x.novel.recall)), coverage: mean(at.map((x) => x.novel.coverage)) }];
}));
console.log(`mean held-out per keep rule over ${summary.length} dates: ${Object.entries(perKeep).map(([rule, m]) => `${rule} novel ${f4(m.novel)} all ${f4(m.all)} recall ${f4(m.recall)} cov ${m.coverage.toFixed(3)}`).join('; ')}`);
type Compared = Record<string, Record<string, { scores: BlendScores }>>;
// A rule set no date compared (--single-source compares none) has no mean: left out, not printed as NaN.
const perCompared = Object.fromEntries(COMPARED.flatMap(({ label }) => KEEP_RULES.flatMap((rule) => {
  const at = summary.map((s) => (s.compared as Compared)[label]?.[rule]?.scores).filter((x): x is BlendScores => x !== undefined);
  return at.length === 0 ? [] : [[`${label} + ${rule}`, { novel: mean(at.map((x) => x.novel.ndcg)), all: mean(at.map((x) => x.all.ndcg)), recall: mean(at.map((x) => x.novel.recall)), coverage: mean(at.map((x) => x.novel.coverage)) }]];
})));
if (Object.keys(perCompared).length > 0) console.log(`mean held-out per tuning rule over ${summary.length} dates: ${Object.entries(perCompared).map(([label, m]) => `${label} novel ${f4(m.novel)} all ${f4(m.all)} recall ${f4(m.recall)} cov ${m.coverage.toFixed(3)}`).join('; ')}`);
else console.log('mean held-out per tuning rule: no rule set compared (--single-source and --no-compare search none)');
console.log(`summary ${JSON.stringify({ shop: name, dates: summary, perRule, perKeep, perCompared })}`);
