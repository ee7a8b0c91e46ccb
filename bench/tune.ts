/**
 * Tuning benchmark: rolling-origin tuning of a recipe (default: `default`, with its `tune` section or
 * the defaults, 3 folds of 30 days) on the full Online Retail data, as training runs it. Prints each
 * step's wall and CPU time (all threads of the process), the totals and the load average, so runs on
 * a shared machine can be compared by CPU seconds.
 *
 *   npx tsx bench/tune.ts [RECIPE] [--threads N] [--out FILE] [--data FILE]
 *
 * `--threads N`: fold threads (default 1: all folds in this thread); the result is the same for any N.
 * `--out FILE` writes the tuned recipe and validation as JSON (to compare runs byte for byte).
 * `--copies N` tunes on N re-keyed copies of the data held in memory (customers, products and orders
 * renamed per copy, as bench/scale.ts writes them), to see what tuning costs a larger shop.
 * The file: --data FILE, else ONLINE_RETAIL_CSV, else ../shared/datasets/online-retail/online-retail.csv.gz.
 * `--dir DIR` tunes a shop of generic import CSVs (docs/import-formats.md) instead, and `--end DATE` tunes on the
 * purchases before DATE only (tuneRecipeOn with that end, as an evaluation from DATE tunes). The last line
 * gives the peak RSS of the process (process.resourceUsage().maxRSS). `--folds-held every|own`: where the fold threads
 * hold the folds (RollingTuneOptions.foldsHeld, default own). `--out-of-fold` tunes with tune.blendJudgedOn
 * `out-of-fold` (src/evaluation/out-of-fold.ts: one more blend search per fold), to measure what it costs.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { loadRecipe, withTuning } from '../src/training/recipe.js';
import { tuneRecipeOn } from '../src/training/tune-for-training.js';
import { readGenericShop } from './lib/generic-shop.js';
import { dataFile, inMemoryCopies, loadOnlineRetail, withoutDataArg } from './lib/online-retail.js';

const args = withoutDataArg();
const option = (flag: string) => {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
};
const valueAt = new Set(['--threads', '--out', '--copies', '--dir', '--end', '--folds-held'].map((f) => args.indexOf(f) + 1).filter((i) => i > 0));
const name = args.find((a, i) => !a.startsWith('--') && !valueAt.has(i)) ?? 'default';
const threads = Number(option('--threads') ?? 1);
const foldsHeld = option('--folds-held') as 'every' | 'own' | undefined;
if (foldsHeld !== undefined && foldsHeld !== 'every' && foldsHeld !== 'own') throw new Error('--folds-held is every or own');
const out = option('--out');
const outOfFold = args.includes('--out-of-fold');

const copies = Number(option('--copies') ?? 1);
const dir = option('--dir');
const end = option('--end');
const r0 = performance.now();
const input = dir ? await readGenericShop(dir) : inMemoryCopies(await loadOnlineRetail(dataFile()), copies);
console.log(`read ${dir ?? 'Online Retail'} in ${((performance.now() - r0) / 1000).toFixed(1)} s`);
const recipe = withTuning(await loadRecipe(name), true);
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const c0 = cpu();
const w0 = performance.now();
let last = c0;
const tuning = await tuneRecipeOn(
  input,
  recipe,
  end,
  (m) => {
    const now = cpu();
    console.log(`wall ${((performance.now() - w0) / 1000).toFixed(1)} s, cpu ${(now - c0).toFixed(1)} s (+${(now - last).toFixed(1)}): ${m}`);
    last = now;
  },
  { threads, ...(foldsHeld ? { foldsHeld } : {}), ...(outOfFold ? { blendJudgedOn: 'out-of-fold' as const } : {}) },
);
console.log(`\nrecipe ${name}${outOfFold ? ' (blend judged out of fold)' : ''}, ${threads} thread(s): tuning ${((performance.now() - w0) / 1000).toFixed(1)} s wall, ${(cpu() - c0).toFixed(1)} s cpu`);
const v = tuning.validation;
if (!('skipped' in v)) console.log(`chose ${v.chosen}; objective per window: blend ${v.objective.blend.map((o) => o.toFixed(4)).join(' ')}; ${Object.entries(v.objective.sources).map(([s, o]) => `${s} ${o.map((x) => x.toFixed(4)).join(' ')}`).join('; ')}`);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
console.log(`load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`);
if (out) writeFileSync(out, JSON.stringify({ recipe: tuning.recipe, validation: tuning.validation }, null, 2));
