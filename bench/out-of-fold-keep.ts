/**
 * Judging the tuned blend out of fold (issue 11, forty-ninth session; src/evaluation/out-of-fold.ts): per outer
 * date D, tunes the default recipe on the data before D as a training does, with tune.blendJudgedOn
 * `out-of-fold`, and prints per validation window the blend's judged objectives in fold (its weights searched
 * on every window) and out of fold (searched on the other windows) beside every single source's; then fits on
 * every purchase before D and scores on the 30 days from D what each of these serves: the default (the keep rule
 * the tuning used, `per-mode-majority` since the fiftieth session, judged in fold), `per-mode` and `sum` in fold,
 * `per-mode` and `sum` out of fold, and EASE and ALS alone. Validation only:
 * pass outer dates before the shop's test period.
 *
 *   npx tsx bench/out-of-fold-keep.ts DIR [--dates D1,D2,D3] [--threads 2] [--log]   (default: the three 30-day windows before the last 30 days)
 *   npx tsx bench/out-of-fold-keep.ts --data FILE --dates 2011-05-01   (Online Retail)
 */
import { loadavg } from 'node:os';
import { RollingFold } from '../src/evaluation/rolling-fold.js';
import { heldOutFold } from './lib/held-out-fold.js';
import type { RollingValidation } from '../src/evaluation/rolling-tune.js';
import type { RowSplitInput } from '../src/evaluation/splits.js';
import type { BlendScores } from '../src/evaluation/blend-cache.js';
import { servedWeights, type KeepDecision } from '../src/evaluation/keep-rule.js';
import { loadRecipe, withTuning, type Recipe } from '../src/training/recipe.js';
import { tuneRecipeOn } from '../src/training/tune-for-training.js';
import { readGenericShop } from './lib/generic-shop.js';
import { loadOnlineRetail } from './lib/online-retail.js';
import { shopBenchArgs } from './lib/shop-bench-args.js';

const DAY = 86_400_000;
const { dir, values, dataFile, usageError } = shopBenchArgs('usage: npx tsx bench/out-of-fold-keep.ts [DIR] [--dates D1,D2] [--threads N] [--log] [--data FILE]', {
  dates: { type: 'string' },
  threads: { type: 'string', default: '2' },
  log: { type: 'boolean' },
});
const { dates: datesArg, log: logTuning } = values;
const threads = Number(values.threads);
if (!datesArg && !dir) usageError('DIR or --dates');
const iso = (ms: number) => new Date(ms).toISOString();
const f4 = (x: number) => x.toFixed(4);
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');

const t0 = performance.now();
const shop: RowSplitInput = dir ? await readGenericShop(dir) : await loadOnlineRetail(dataFile());
const purchases = [...shop.events];
// As bench/choice-rule.ts: a generic shop's outer dates default to the starts of the three 30-day windows before its last 30 days (its test period).
const testStart = purchases.reduce((m, e) => Math.max(m, e.ts), Number.NEGATIVE_INFINITY) + 1 - 30 * DAY;
const dates = datesArg ? datesArg.split(',').map((d) => Date.parse(d)) : [3, 2, 1].map((j) => testStart - j * 30 * DAY);
if (dates.some((d) => d + 30 * DAY > testStart + 1 && dir)) console.error('warning: an outer date reads the test period (the last 30 days)');
console.log(`${dir ?? 'online-retail'}: ${purchases.length} purchases, read in ${((performance.now() - t0) / 1000).toFixed(1)} s; load ${load()}`);
const recipe = await loadRecipe('default');
type Weights = { cold: Record<string, number>; warm: Record<string, number> };
type Blend = { weights: Weights; repeatWeights?: Weights; popularityDiscount: number };
const alone = (s: string): Blend => ({ weights: { cold: { [s]: 1 }, warm: { [s]: 1 } }, popularityDiscount: 0 });

function heldOut(r: Recipe, from: number): RollingFold {
  return heldOutFold(shop, r, from);
}
const cells = (s: BlendScores) => `novel ${f4(s.novel.ndcg)} all ${f4(s.all.ndcg)} recall ${f4(s.novel.recall)} cov ${s.novel.coverage.toFixed(3)}`;

const summary: Record<string, unknown>[] = [];
for (const at of dates) {
  const started = performance.now();
  const tuned = await tuneRecipeOn(shop, withTuning(recipe, recipe.tune ?? true), iso(at), logTuning ? (m) => console.error(`  [tune] ${m}`) : undefined, { threads, blendJudgedOn: 'out-of-fold' });
  const v = tuned.validation as RollingValidation | { skipped: string };
  if ('skipped' in v) {
    console.log(`${iso(at).slice(0, 10)}: tuning skipped (${v.skipped})`);
    continue;
  }
  console.log(`${iso(at).slice(0, 10)}: tuned (out of fold) in ${((performance.now() - started) / 1000).toFixed(0)} s, load ${load()}; served ${v.chosen}`);
  const m = v.modes!;
  const oof = v.outOfFold!;
  v.folds.forEach((f, w) => {
    const singles = Object.entries(m.sources).map(([s, o]) => `${s} ${f4(o.novel[w])}|${f4(o.all[w])}`).join(', ');
    console.log(`  window ${f.start.slice(0, 10)}: blend in fold ${f4(m.blend.novel[w])}|${f4(m.blend.all[w])}, out of fold ${f4(oof.blend.novel[w])}|${f4(oof.blend.all[w])}; ${singles}  (novel judged|all)`);
  });
  const r = tuned.recipe;
  const blend: Blend = (v.rejectedBlend as Blend | undefined) ?? { weights: r.hybrid.weights, repeatWeights: r.hybrid.repeatWeights, popularityDiscount: r.hybrid.popularityDiscount };
  console.log(`  blend weights ${JSON.stringify(blend.weights)} repeat ${JSON.stringify(blend.repeatWeights ?? null)} discount ${blend.popularityDiscount}`);
  const fold = heldOut(r, at);
  const rule = v.keepRule ?? 'per-mode-majority';
  const rows: [string, KeepDecision | null, Blend][] = [
    // The default is the keep rule the tuning used (per-mode-majority since the fiftieth session), not per-mode.
    [`default (${rule}, in fold)`, oof.inFoldKeptBy[rule], blend],
    ['per-mode, in fold', oof.inFoldKeptBy['per-mode'], blend],
    ['sum, in fold', oof.inFoldKeptBy.sum, blend],
    ['per-mode, out of fold', v.keptBy!['per-mode'], blend],
    ['sum, out of fold', v.keptBy!.sum, blend],
    ['blend whole', null, blend],
    ['ease alone', null, alone('ease')],
    ['als alone', null, alone('als')],
  ];
  const held: Record<string, { decision: KeepDecision | null; scores: BlendScores }> = {};
  console.log(`  held out ${iso(at).slice(0, 10)} + 30 days:`);
  for (const [label, decision, b] of rows) {
    const scores = fold.score(decision ? servedWeights(decision, b) : b);
    held[label] = { decision, scores };
    console.log(`    ${label.padEnd(28)} ${decision ? `new ${decision.novel}, own ${decision.all}`.padEnd(28) : ''.padEnd(28)} ${cells(scores)}`);
  }
  summary.push({ date: iso(at).slice(0, 10), modes: m, outOfFold: oof.blend, held });
}
console.log(`summary ${JSON.stringify({ shop: dir ?? 'online-retail', dates: summary })}`);
