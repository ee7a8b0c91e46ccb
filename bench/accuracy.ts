/**
 * Accuracy benchmark: `npx tsx bench/accuracy.ts [recipe] [--data FILE]` evaluates every source of the recipe
 * (default: models/default.json) and its hybrid on UCI Online Retail with the temporal split at
 * 2011-11-01, modes novel and all, K = 5/10/20, full ranking, and prints the report and the times.
 * The data file: `--data FILE`, else ONLINE_RETAIL_CSV, else
 * ../shared/datasets/online-retail/online-retail.csv.gz beside the repository.
 */
import { formatReport } from '../src/evaluation/format-report.js';
import { runEvaluation } from '../src/evaluation/run-evaluation.js';
import { loadRecipe } from '../src/training/recipe.js';
import { dataFile, loadOnlineRetail, withoutDataArg } from './lib/online-retail.js';

const CUTOFF = '2011-11-01T00:00:00Z';

const started = performance.now();
const seconds = (from: number) => ((performance.now() - from) / 1000).toFixed(1);
const recipe = await loadRecipe(withoutDataArg()[0] ?? 'default');
const input = await loadOnlineRetail(dataFile());
const loaded = performance.now();
console.log(`loaded ${input.events.length} purchases of ${input.users.length} customers in ${seconds(started)} s`);

const fitMs: Record<string, number> = {};
let step = '';
let stepStarted = performance.now();
const report = await runEvaluation(
  input,
  [recipe],
  { split: { kind: 'temporal', cutoff: CUTOFF }, modes: ['novel', 'all'], ks: [5, 10, 20] },
  (p) => {
    if (p.step === step) return;
    if (step.startsWith('fit ')) fitMs[step.slice(4)] = performance.now() - stepStarted;
    step = p.step;
    stepStarted = performance.now();
  },
);
console.log(formatReport(report));
console.log(`\nfit + score ${seconds(loaded)} s (fits: ${Object.entries(fitMs).map(([s, ms]) => `${s.replace(/^[^:]*: /, '')} ${(ms / 1000).toFixed(1)} s`).join(', ')})`);
console.log(`total ${seconds(started)} s, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
