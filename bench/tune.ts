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
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { loadRecipe, withTuning } from '../src/training/recipe.js';
import { tuneForTraining } from '../src/training/tune-for-training.js';
import { dataFile, inMemoryCopies, loadOnlineRetail, withoutDataArg } from './lib/online-retail.js';

const args = withoutDataArg();
const option = (flag: string) => {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
};
const valueAt = new Set(['--threads', '--out', '--copies'].map((f) => args.indexOf(f) + 1).filter((i) => i > 0));
const name = args.find((a, i) => !a.startsWith('--') && !valueAt.has(i)) ?? 'default';
const threads = Number(option('--threads') ?? 1);
const out = option('--out');

const copies = Number(option('--copies') ?? 1);
const input = inMemoryCopies(await loadOnlineRetail(dataFile()), copies);
const recipe = withTuning(await loadRecipe(name), true);
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const c0 = cpu();
const w0 = performance.now();
let last = c0;
const tuning = await tuneForTraining(
  input,
  recipe,
  (m) => {
    const now = cpu();
    console.log(`wall ${((performance.now() - w0) / 1000).toFixed(1)} s, cpu ${(now - c0).toFixed(1)} s (+${(now - last).toFixed(1)}): ${m}`);
    last = now;
  },
  { threads },
);
console.log(`\nrecipe ${name}, ${threads} thread(s): tuning ${((performance.now() - w0) / 1000).toFixed(1)} s wall, ${(cpu() - c0).toFixed(1)} s cpu`);
console.log(`load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`);
if (out) writeFileSync(out, JSON.stringify({ recipe: tuning.recipe, validation: tuning.validation }, null, 2));
