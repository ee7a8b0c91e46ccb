/**
 * Why do the validation windows judge the tuned blend better against EASE than the 30 days after them do?
 * (issue 11, fifty-first session.) Validation only: every held-out period here is the 30 days from an outer
 * date before the shop's test period.
 *
 *   npx tsx bench/window-vs-held.ts [DIR] [--dates D1,D2,D3] [--max-customers N] [--threads N] [--data FILE]
 *
 * Per outer date D it tunes the default recipe on the data before D as a training does (tuneRecipeOn, no rule
 * sets compared), with tune.maxCustomers N when given (the tuning sample, tuning-sample.ts), then fits every
 * source on all purchases before D (as served) and scores on the 30 days from D the tuned blend whole, the
 * recipe the keep rule serves, and every source alone. It prints, per source and for the blend, the windows'
 * mean novel NDCG@10 (raw: the coverage shortfall added back) and all-mode NDCG@10 beside the held-out ones
 * and their ratio (held out / windows): a source whose ratio is above the blend's is under-rated by the windows
 * against it. The blend / EASE ratio on the windows and held out, per mode, says on which half (new items:
 * novel mode; own items: all-mode) the over-rating sits. The last line is JSON (`summary {...}`).
 *
 * DIR and the dates as in bench/choice-rule.ts (a generic shop's default outer dates: the three 30-day windows
 * before its last 30 days; Online Retail's: 2011-06-01, 07-01, 08-01).
 */
import { loadavg } from 'node:os';
import { RollingFold } from '../src/evaluation/rolling-fold.js';
import { heldOutFold } from './lib/held-out-fold.js';
import type { RollingValidation } from '../src/evaluation/rolling-tune.js';
import type { RowSplitInput } from '../src/evaluation/splits.js';
import type { BlendScores } from '../src/evaluation/blend-cache.js';
import { servedWeights } from '../src/evaluation/keep-rule.js';
import { rescoreWindows } from '../src/evaluation/window-rescore.js';
import { sampleCustomers } from '../src/evaluation/tuning-sample.js';
import { loadRecipe, tuningSampleBounds, withTuning, type Recipe } from '../src/training/recipe.js';
import { tuneRecipeOn } from '../src/training/tune-for-training.js';
import { readGenericShop } from './lib/generic-shop.js';
import { loadOnlineRetail } from './lib/online-retail.js';
import { shopBenchArgs } from './lib/shop-bench-args.js';

const DAY = 86_400_000;
const { dir, values, dataFile } = shopBenchArgs('usage: npx tsx bench/window-vs-held.ts [DIR] [--dates D1,D2,D3] [--max-customers N] [--threads N] [--data FILE]', {
  dates: { type: 'string' },
  'max-customers': { type: 'string' },
  threads: { type: 'string', default: '1' },
});
const { dates: datesArg, 'max-customers': maxCustomers } = values;
const threads = Number(values.threads);
const iso = (ms: number) => new Date(ms).toISOString();
const f4 = (x: number) => x.toFixed(4);
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const shop: RowSplitInput = dir ? await readGenericShop(dir) : await loadOnlineRetail(dataFile());
const name = dir ?? 'online-retail';
const latest = [...shop.events].reduce((m, e) => Math.max(m, e.ts), Number.NEGATIVE_INFINITY);
const testStart = dir ? latest + 1 - 30 * DAY : Date.parse('2011-09-01');
const dates = datesArg ? datesArg.split(',').map((d) => Date.parse(d)) : dir ? [3, 2, 1].map((j) => testStart - j * 30 * DAY) : ['2011-06-01', '2011-07-01', '2011-08-01'].map((d) => Date.parse(d));
const base = await loadRecipe('default');
const tune = base.tune ?? withTuning(base, true).tune!;
const recipe: Recipe = withTuning(base, { ...tune, ...(maxCustomers ? { maxCustomers: Number(maxCustomers) } : {}) });
console.log(`${name}: tune.maxCustomers ${recipe.tune!.maxCustomers}, ${threads} thread(s), load ${loadavg()[0].toFixed(1)}`);

/** `r`'s sources fitted on every purchase before `from`, to be scored on the 30 days from there (as bench/choice-rule.ts). */
function heldOut(r: Recipe, from: number): RollingFold {
  return heldOutFold(shop, r, from);
}
const alone = (source: string) => ({ weights: { cold: { [source]: 1 }, warm: { [source]: 1 } } });

type Row = { window: { novel: number; all: number }; held: { novel: number; all: number; coverage: number } };
const summary: Record<string, unknown>[] = [];
for (const at of dates) {
  const w0 = performance.now();
  const c0 = process.cpuUsage();
  const tuned = await tuneRecipeOn(shop, recipe, iso(at), undefined, { threads });
  const v = tuned.validation as RollingValidation | { skipped: string };
  if ('skipped' in v || !v.modes) {
    console.log(`${iso(at).slice(0, 10)}: tuning skipped`);
    continue;
  }
  const cpu = process.cpuUsage(c0);
  const cost = { wall: (performance.now() - w0) / 1000, cpu: (cpu.user + cpu.system) / 1e6, load: loadavg()[0] };
  const tunedBlend = v.rejectedBlend ?? { weights: tuned.recipe.hybrid.weights, repeatWeights: tuned.recipe.hybrid.repeatWeights, popularityDiscount: tuned.recipe.hybrid.popularityDiscount ?? 0 };
  console.log(`${iso(at).slice(0, 10)}: tuned in ${cost.wall.toFixed(0)} s wall, ${cost.cpu.toFixed(0)} s CPU (load ${cost.load.toFixed(1)}) on ${v.customers?.used} of ${v.customers?.of} customers; served ${v.chosen}`);
  const fold = heldOut(tuned.recipe, at);
  const rows: Record<string, Row> = {};
  const row = (m: { novel: number[]; all: number[]; novelShortfall?: number }, s: BlendScores): Row => ({
    window: { novel: mean(m.novel) + (m.novelShortfall ?? 0), all: mean(m.all) },
    held: { novel: s.novel.ndcg, all: s.all.ndcg, coverage: s.novel.coverage },
  });
  rows.blend = row(v.modes.blend, fold.score(tunedBlend));
  for (const [source, m] of Object.entries(v.modes.sources)) rows[source] = row(m, fold.score(alone(source)));
  const served = fold.score(servedWeights(v.keptBy![v.keepRule ?? 'per-mode-majority'], tunedBlend));
  const perFold = (m: { novel: number[]; all: number[]; novelShortfall?: number }) => `novel ${m.novel.map((x) => f4(x + (m.novelShortfall ?? 0))).join(' ')} | all ${m.all.map(f4).join(' ')}`;
  console.log(`  per window (raw): blend ${perFold(v.modes.blend)}; ease ${v.modes.sources.ease ? perFold(v.modes.sources.ease) : '-'}`);
  console.log(`  ${'source'.padEnd(12)} windows novel / held / ratio | windows all / held / ratio | held novel coverage`);
  for (const [source, r] of Object.entries(rows)) {
    console.log(`  ${source.padEnd(12)} ${f4(r.window.novel)} / ${f4(r.held.novel)} / ${(r.held.novel / r.window.novel).toFixed(3)} | ${f4(r.window.all)} / ${f4(r.held.all)} / ${(r.held.all / r.window.all).toFixed(3)} | ${r.held.coverage.toFixed(3)}`);
  }
  const e = rows.ease;
  if (e) console.log(`  blend / ease: novel windows ${(rows.blend.window.novel / e.window.novel).toFixed(3)} held ${(rows.blend.held.novel / e.held.novel).toFixed(3)}; all windows ${(rows.blend.window.all / e.window.all).toFixed(3)} held ${(rows.blend.held.all / e.held.all).toFixed(3)}`);
  console.log(`  served (${v.chosen}): novel ${f4(served.novel.ndcg)} all ${f4(served.all.ndcg)} recall ${f4(served.novel.recall)} cov ${served.novel.coverage.toFixed(3)}`);
  // The tuning's own windows scored again with the served blend and every source alone, on three sets of customers:
  // the tuning sample (as tuning scored them: a check), the customers the sample left out (windows the weights
  // were not searched on; ALS and the other sample-fitted sources then fit on those customers), and everyone.
  const rescored: Record<string, Record<string, { novel: number; all: number }>> = {};
  console.log(`  tuned recipe ${JSON.stringify({ sources: tuned.recipe.sources, blend: tunedBlend, keptBy: v.keptBy })}`);
  const sample = sampleCustomers(shop, tuningSampleBounds(recipe.tune!), at);
  if (sample.scored) try {
    const kept = new Set(sample.scored);
    const others = [...new Set([...shop.events].filter((e) => e.ts < at && !kept.has(e.userId)).map((e) => e.userId))];
    for (const [label, scored] of [['sample', sample.scored], ['others', others], ['everyone', undefined]] as const) {
      const w = rescoreWindows(shop, tuned.recipe, tunedBlend, v.folds, v.days, 10, scored);
      const sums: Record<string, { novel: number; all: number }> = {};
      for (const [who, per] of [['blend', w.blend], ...Object.entries(w.sources)] as [string, BlendScores[]][]) sums[who] = { novel: mean(per.map((x) => x.novel.ndcg)), all: mean(per.map((x) => x.all.ndcg)) };
      rescored[label] = sums;
      const e = sums.ease;
      console.log(`  windows rescored on ${label} (${scored ? scored.length : 'all'} customers): blend novel ${f4(sums.blend.novel)} all ${f4(sums.blend.all)}; ease novel ${f4(e.novel)} all ${f4(e.all)}; blend / ease novel ${(sums.blend.novel / e.novel).toFixed(3)} all ${(sums.blend.all / e.all).toFixed(3)}; ${Object.entries(sums).filter(([w]) => w !== 'blend' && w !== 'ease').map(([w, x]) => `${w} ${f4(x.novel)}/${f4(x.all)}`).join(', ')}`);
    }
  } catch (err) {
    console.log(`  rescoring failed: ${(err as Error).stack}`);
  }
  summary.push({ rescored, date: iso(at).slice(0, 10), maxCustomers: recipe.tune!.maxCustomers, customers: v.customers, cost, chosen: v.chosen, params: v.params, rows, served: { novel: served.novel.ndcg, all: served.all.ndcg, recall: served.novel.recall, coverage: served.novel.coverage } });
}
console.log(`summary ${JSON.stringify({ shop: name, maxCustomers: recipe.tune!.maxCustomers, dates: summary })}`);
