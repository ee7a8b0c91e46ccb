/**
 * What starting tuning's fold threads costs: the sample a training tunes on, then a threaded fold pool's folds
 * split and ready on every thread (FoldPool.info), nothing fitted. Prints the CPU seconds of the process (all
 * threads) for that step alone, and the peak RSS. Tuning's own output is not made: bench/tune.ts hashes that.
 *
 *   npx tsx bench/fold-pool-start.ts --dir DIR [--threads N] [--folds-held own|every]
 *
 * `--dir DIR`: a shop of generic import CSVs (docs/import-formats.md); `--threads N` (default 2); `--folds-held`: where
 * the folds live (FoldsHeld; default the pool's and tuning's, own: each fold on the thread that split it; every: a copy
 * of every fold on each thread).
 */
import { loadavg } from 'node:os';
import { threadedFoldPool, type FoldsHeld } from '../src/evaluation/fold-pool.js';
import { foldWindows } from '../src/evaluation/rolling-tune.js';
import { columnarInput } from '../src/evaluation/splits.js';
import { sampleCustomers } from '../src/evaluation/tuning-sample.js';
import { loadRecipe, tuningSampleBounds, withTuning } from '../src/training/recipe.js';
import { readGenericShop } from './lib/generic-shop.js';

const args = process.argv.slice(2);
const option = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const dir = option('--dir');
if (!dir) throw new Error('--dir DIR is required');
const threads = Number(option('--threads') ?? 2);
const foldsHeld = option('--folds-held') as FoldsHeld | undefined;
if (foldsHeld !== undefined && foldsHeld !== 'every' && foldsHeld !== 'own') throw new Error('--folds-held is own or every');
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const input = await readGenericShop(dir);
const tune = withTuning(await loadRecipe('default'), true).tune!;
const sample = sampleCustomers(input, tuningSampleBounds(tune));
const population = columnarInput(sample.population!);
// The folds as tuning makes them for the default recipe (rolling-tune.ts), with the sample scored.
const specs = foldWindows(population, { folds: tune.folds, days: tune.days }).map((w) => ({ ...w, k: 10, fullHistoryOrders: 10, depth: 100, customerShare: 1, scored: sample.scored! }));
const c0 = cpu();
const w0 = performance.now();
const pool = threadedFoldPool(population, specs, threads, undefined, foldsHeld);
const folds = await pool.info();
const c1 = cpu();
await pool.close();
console.log(`${threads} fold threads (folds held ${foldsHeld ?? 'own'}) ready on ${folds.map((f) => f.trainEvents).join(' / ')} train events: ${((performance.now() - w0) / 1000).toFixed(1)} s wall, ${(c1 - c0).toFixed(1)} s cpu`);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
