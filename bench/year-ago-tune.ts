/**
 * Does tuning with the year-ago window (tune.yearAgo) serve a month that opens before a collection launch better?
 * (issue 11, fifty-ninth session; pre-registered in bench/year-ago-criterion.md.) Validation only, nested: at an
 * outer date D the 30 days [D - 30, D) stand in for the held-out month; the default recipe is tuned as a training
 * does (tuneRecipeOn) on the data before D - 30 only, with and without tune.yearAgo, each tuned recipe is fitted on
 * every purchase before D - 30 (bench/lib/held-out-fold.ts) and its served blend scored on the stand-in, over
 * every customer who bought in it. Nothing at or after D is read.
 *
 *   npx tsx bench/year-ago-tune.ts DIR --dates D1,D2 [--arms without,with,floor]
 *
 * Arms: `without` (the default recipe), `with` (tune.yearAgo), `floor` (tune.yearAgo and tune.yearAgoFloor: the
 * coverage floor also held on the year-ago window alone; sixtieth session, bench/year-ago-floor-criterion.md).
 *
 * Prints one JSON line per date and arm (`result {...}`): the served recipe's novel NDCG@10, recall@10 and novel
 * catalogue coverage on the stand-in, its all-mode NDCG@10, what tuning served, whether the year-ago window was a
 * fold, and the CPU time (user + system) of the tuning and of the whole arm.
 */
import { loadavg } from 'node:os';
import type { RollingValidation } from '../src/evaluation/rolling-tune.js';
import { loadRecipe, withTuning } from '../src/training/recipe.js';
import { tuneRecipeOn } from '../src/training/tune-for-training.js';
import { heldOutFold } from './lib/held-out-fold.js';
import { readGenericShop } from './lib/generic-shop.js';
import { shopBenchArgs } from './lib/shop-bench-args.js';

const DAY = 86_400_000;
const { dir, values, usageError } = shopBenchArgs('usage: npx tsx bench/year-ago-tune.ts DIR --dates D1,D2 [--arms without,with,floor]', {
  dates: { type: 'string' },
  arms: { type: 'string', default: 'without,with' },
});
if (!dir || !values.dates) usageError('a generic shop DIR and --dates are needed');
const arms = values.arms!.split(',');
const ARMS: Record<string, object> = { without: {}, with: { yearAgo: true }, floor: { yearAgo: true, yearAgoFloor: true } };
if (arms.some((a) => !(a in ARMS))) usageError('--arms takes without, with and floor');
const shop = await readGenericShop(dir!);
const base = await loadRecipe('default');
const tune = base.tune ?? withTuning(base, true).tune!;
const cpu = (c0: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};
for (const d of values.dates!.split(',')) {
  const outer = Date.parse(d);
  const from = outer - 30 * DAY;
  for (const arm of arms) {
    const c0 = process.cpuUsage();
    const recipe = withTuning(base, { ...tune, ...ARMS[arm] });
    let blendFoldCoverage: number[] | undefined;
    const progress = (m: string) => {
      const c = /^blend per fold: .*\(coverage ([\d. ]+)\)/.exec(m);
      if (c) blendFoldCoverage = c[1].trim().split(' ').map(Number);
    };
    const tuned = await tuneRecipeOn(shop, recipe, new Date(from).toISOString(), progress, { threads: 1 });
    const tuneCpu = cpu(c0);
    const v = tuned.validation as RollingValidation | { skipped: string };
    const h = tuned.recipe.hybrid;
    const fold = heldOutFold(shop, tuned.recipe, from);
    const s = fold.score({ weights: h.weights, ...(h.repeatWeights ? { repeatWeights: h.repeatWeights } : {}), popularityDiscount: h.popularityDiscount ?? 0 });
    const result = {
      shop: dir,
      d: new Date(outer).toISOString(),
      standIn: [new Date(from).toISOString(), new Date(outer).toISOString()],
      arm,
      novelNdcg: s.novel.ndcg,
      recall: s.novel.recall,
      coverage: s.novel.coverage,
      allNdcg: s.all.ndcg,
      novelUsers: s.novel.users,
      served: 'skipped' in v ? `skipped: ${v.skipped}` : v.chosen,
      folds: 'skipped' in v ? [] : v.folds.map((f) => f.start.slice(0, 10)),
      yearAgo: 'skipped' in v ? undefined : v.yearAgo,
      yearAgoFloor: 'skipped' in v ? undefined : v.yearAgoFloor,
      // The searched blend's novel coverage on each validation window, oldest first (the year-ago window first when added), from tuning's log.
      blendFoldCoverage,
      weights: h.weights,
      popularityDiscount: h.popularityDiscount,
      cpu: { tune: Number(tuneCpu.toFixed(1)), arm: Number(cpu(c0).toFixed(1)) },
      load: Number(loadavg()[0].toFixed(1)),
    };
    console.log(`result ${JSON.stringify(result)}`);
  }
}
