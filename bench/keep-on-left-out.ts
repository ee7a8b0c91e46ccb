/**
 * tune.keepOn `left-out` against the default (`sample`), held out (issue 11, fifty-second session; criterion fixed
 * before the runs in bench/keep-on-left-out-criterion.md). Validation only: every held-out period is the 30 days from
 * an outer date before the shop's test period.
 *
 *   npx tsx bench/keep-on-left-out.ts [DIR] [--dates D1,D2,D3] [--max-customers N] [--threads N] [--data FILE]
 *   npx tsx bench/keep-on-left-out.ts --cost [--arm sample|left-out] [--dates D] [--max-customers N] [--data FILE]
 *
 * Per outer date D it tunes the default recipe with keepOn `left-out` on the data before D (tuneRecipeOn, as a
 * training does). The search is the default's; the record holds what the keep rule (`per-mode-majority`) kept on the
 * search sample (the default's decision, keepOn.sampleKeptBy) and on the left-out customers (keptBy). Where the two
 * agree the served recipes are the same (held-out difference 0, nothing fitted); where they differ, every source is
 * fitted on all purchases before D (bench/lib/held-out-fold.ts) and both served recipes are scored on the 30 days
 * from D. The per-fold objectives on both sets of customers are printed (blend, the best single source of each mode).
 * The last line is JSON (`summary {...}`).
 *
 * `--cost`: tunes the same date twice in this process, default and `left-out`, and prints each one's CPU seconds
 * (user + system) and wall seconds: the option's extra cost. `--arm` tunes one of the two only (one process per arm).
 *
 * DIR and the dates as bench/window-vs-held.ts (a generic shop's default dates: the three 30-day steps before its last
 * 30 days; Online Retail's: 2011-06-01, 07-01, 07-15).
 */
import { loadavg } from 'node:os';
import type { LeftOutJudgement } from '../src/evaluation/keep-on.js';
import { servedWeights, type KeepDecision, type ModeObjectives } from '../src/evaluation/keep-rule.js';
import type { RollingValidation } from '../src/evaluation/rolling-tune.js';
import type { RowSplitInput } from '../src/evaluation/splits.js';
import { loadRecipe, withTuning, type Recipe } from '../src/training/recipe.js';
import { tuneRecipeOn } from '../src/training/tune-for-training.js';
import { heldOutFold } from './lib/held-out-fold.js';
import { readGenericShop } from './lib/generic-shop.js';
import { loadOnlineRetail } from './lib/online-retail.js';
import { shopBenchArgs } from './lib/shop-bench-args.js';

const DAY = 86_400_000;
const { dir, values, dataFile } = shopBenchArgs('usage: npx tsx bench/keep-on-left-out.ts [DIR] [--cost] [--arm sample|left-out] [--dates D1,D2,D3] [--max-customers N] [--threads N] [--data FILE]', {
  cost: { type: 'boolean' },
  arm: { type: 'string' },
  dates: { type: 'string' },
  'max-customers': { type: 'string' },
  threads: { type: 'string', default: '1' },
});
const { cost, arm, dates: datesArg, 'max-customers': maxCustomers } = values;
const threads = Number(values.threads);
const iso = (ms: number) => new Date(ms).toISOString();
const f4 = (x: number) => x.toFixed(4);
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const RULE = 'per-mode-majority';

const shop: RowSplitInput = dir ? await readGenericShop(dir) : await loadOnlineRetail(dataFile());
const name = dir ?? 'online-retail';
const latest = [...shop.events].reduce((m, e) => Math.max(m, e.ts), Number.NEGATIVE_INFINITY);
const testStart = dir ? latest + 1 - 30 * DAY : Date.parse('2011-09-01');
const dates = datesArg
  ? datesArg.split(',').map((d) => Date.parse(d))
  : cost
    ? [Date.parse('2011-08-01')]
    : dir
      ? [3, 2, 1].map((j) => testStart - j * 30 * DAY)
      : ['2011-06-01', '2011-07-01', '2011-07-15'].map((d) => Date.parse(d));
for (const at of dates) if (at + (cost ? 0 : 30 * DAY) > testStart) throw new Error(`${iso(at)}: would read the test period (from ${iso(testStart)})`);
const base = await loadRecipe('default');
const tune = { ...(base.tune ?? withTuning(base, true).tune!), ...(maxCustomers ? { maxCustomers: Number(maxCustomers) } : {}) };
const recipeWith = (keepOn?: 'left-out'): Recipe => withTuning(base, { ...tune, ...(keepOn ? { keepOn } : {}) });
console.log(`${name}: tune.maxCustomers ${tune.maxCustomers}, ${threads} thread(s), load ${loadavg()[0].toFixed(1)}, dates ${dates.map((d) => iso(d).slice(0, 10)).join(' ')}`);

/** Tunes `r` on the data before `at`, with its CPU and wall seconds. */
async function timedTune(r: Recipe, at: number) {
  const w0 = performance.now();
  const c0 = process.cpuUsage();
  const tuned = await tuneRecipeOn(shop, r, iso(at), undefined, { threads });
  const cpu = process.cpuUsage(c0);
  return { tuned, seconds: { cpu: (cpu.user + cpu.system) / 1e6, wall: (performance.now() - w0) / 1000, load: loadavg()[0] } };
}

if (cost) {
  const out: Record<string, unknown>[] = [];
  for (const at of dates) {
    for (const keepOn of ([undefined, 'left-out'] as const).filter((k) => !arm || (k ?? 'sample') === arm)) {
      const { tuned, seconds } = await timedTune(recipeWith(keepOn), at);
      const v = tuned.validation as RollingValidation;
      console.log(`${iso(at).slice(0, 10)} keepOn ${keepOn ?? 'sample (default)'}: ${seconds.cpu.toFixed(1)} s CPU, ${seconds.wall.toFixed(1)} s wall (load ${seconds.load.toFixed(1)}); ${v.customers?.used} of ${v.customers?.of} customers; keepOn record ${JSON.stringify(v.keepOn ? { on: v.keepOn.on, ...('customers' in v.keepOn ? { customers: v.keepOn.customers } : { reason: v.keepOn.reason }) } : null)}; served ${v.chosen}`);
      out.push({ date: iso(at).slice(0, 10), keepOn: keepOn ?? 'sample', seconds });
    }
  }
  console.log(`summary ${JSON.stringify({ shop: name, maxCustomers: tune.maxCustomers, cost: out })}`);
  process.exit(0);
}

const summary: Record<string, unknown>[] = [];
const perFold = (m: ModeObjectives) => `novel ${m.novel.map(f4).join(' ')} | all ${m.all.map(f4).join(' ')}`;
for (const at of dates) {
  const { tuned, seconds } = await timedTune(recipeWith('left-out'), at);
  const v = tuned.validation as RollingValidation | { skipped: string };
  if ('skipped' in v || !v.modes) {
    console.log(`${iso(at).slice(0, 10)}: tuning skipped`);
    continue;
  }
  const judged = v.keepOn?.on === 'left-out' ? (v.keepOn as LeftOutJudgement) : undefined;
  const option: KeepDecision = v.keptBy![RULE];
  const byDefault: KeepDecision = judged ? judged.sampleKeptBy[RULE] : option;
  const blend = v.rejectedBlend ?? { weights: tuned.recipe.hybrid.weights, repeatWeights: tuned.recipe.hybrid.repeatWeights, popularityDiscount: tuned.recipe.hybrid.popularityDiscount ?? 0 };
  console.log(`${iso(at).slice(0, 10)}: tuned in ${seconds.cpu.toFixed(0)} s CPU, ${seconds.wall.toFixed(0)} s wall (load ${seconds.load.toFixed(1)}) on ${v.customers?.used} of ${v.customers?.of} customers; keepOn ${judged ? `left-out (${judged.customers} customers)` : `sample: ${v.keepOn && 'reason' in v.keepOn ? v.keepOn.reason : '-'}`}`);
  const show = (label: string, blendModes: ModeObjectives, sources: Record<string, ModeObjectives>) => {
    console.log(`  ${label}: blend ${perFold(blendModes)}`);
    for (const [source, m] of Object.entries(sources)) console.log(`  ${label}: ${source.padEnd(12)} ${perFold(m)}`);
  };
  show('sample  ', v.modes.blend, v.modes.sources);
  if (judged) show('left out', judged.modes.blend, judged.modes.sources);
  console.log(`  ${RULE} keeps: on the sample (default) new items ${byDefault.novel}, own items ${byDefault.all}; on the left-out customers new items ${option.novel}, own items ${option.all}`);
  const same = byDefault.novel === option.novel && byDefault.all === option.all;
  let held: Record<string, { novel: number; all: number; recall: number; coverage: number }> | undefined;
  if (!same) {
    const h0 = process.cpuUsage();
    const fold = heldOutFold(shop, tuned.recipe, at);
    held = {};
    for (const [label, d] of [['default', byDefault], ['left-out', option]] as const) {
      const s = fold.score(servedWeights(d, blend));
      held[label] = { novel: s.novel.ndcg, all: s.all.ndcg, recall: s.novel.recall, coverage: s.novel.coverage };
    }
    const h = process.cpuUsage(h0);
    console.log(`  held out (30 days from ${iso(at).slice(0, 10)}, fitted in ${((h.user + h.system) / 1e6).toFixed(0)} s CPU): default novel ${f4(held.default.novel)} all ${f4(held.default.all)}; left-out novel ${f4(held['left-out'].novel)} all ${f4(held['left-out'].all)}; novel ${((held['left-out'].novel / held.default.novel - 1) * 100).toFixed(2)}%, all ${((held['left-out'].all / held.default.all - 1) * 100).toFixed(2)}%`);
  } else console.log('  same decision: the served recipes are the same (held-out change 0)');
  summary.push({
    date: iso(at).slice(0, 10),
    seconds,
    customers: v.customers,
    keepOn: judged ? { on: 'left-out', customers: judged.customers } : v.keepOn,
    decisions: { default: byDefault, 'left-out': option },
    same,
    ...(held ? { held } : {}),
    windows: {
      sample: { blend: v.modes.blend, ease: v.modes.sources.ease },
      ...(judged ? { leftOut: { blend: judged.modes.blend, ease: judged.modes.sources.ease } } : {}),
      ...(v.modes.sources.ease
        ? { novelLeadOverEase: { sample: mean(v.modes.blend.novel) / mean(v.modes.sources.ease.novel), ...(judged ? { leftOut: mean(judged.modes.blend.novel) / mean(judged.modes.sources.ease.novel) } : {}) } }
        : {}),
    },
  });
}
console.log(`summary ${JSON.stringify({ shop: name, maxCustomers: tune.maxCustomers, dates: summary })}`);
