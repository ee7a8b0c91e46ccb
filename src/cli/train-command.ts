import { loadConfig } from '../config.js';
import { QUERYABLE_TIME_MESSAGE, queryableTime } from '../data/event-time.js';
import { JOB_TYPES } from '../jobs/job-types.js';
import type { TrainJobParams } from '../jobs/job-handlers.js';
import type { TrainResult } from '../training/train-model.js';
import { USERS_TABLE } from '../serving/user-entry.js';
import { runJobCommand } from './job-command.js';
import { parseCommandLine, runCli, UsageError } from './run-cli.js';

const USAGE = `Usage: npm run train [-- --recipe NAME] [--from DATE] [--to DATE] [--tune | --no-tune]

  --recipe NAME   recipe models/NAME.json (default: DEFAULT_RECIPE, i.e. models/default.json)
  --from DATE     learn from purchases at or after DATE (e.g. 2011-01-01 or 2011-01-01T00:00:00Z)
  --to DATE       learn from purchases before DATE
  --tune          tune the blend on this data first (rolling-origin validation), even if the recipe
                  has no "tune" section; --no-tune trains the recipe's weights as written

Trains on the purchases in DATABASE_URL (or the embedded database in DATA_DIR) and publishes a new
model version to the model store (REDIS_URL, or the embedded store in DATA_DIR). The run is a
training job like POST /v1/training-jobs: one training at a time, visible in the API.`;


/** Dates as the user types them (a day means its midnight UTC), as ISO strings. */
function isoDate(flag: string, value: string): string {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms)) throw new UsageError(`${flag}: "${value}" is not a date (e.g. 2011-01-01)`);
  const iso = new Date(ms).toISOString();
  if (!queryableTime(iso)) throw new UsageError(`${flag}: ${QUERYABLE_TIME_MESSAGE}`);
  return iso;
}

/** Parses the arguments before anything is opened, so a typo costs nothing. */
export function parseTrainArgs(args: string[]): TrainJobParams {
  const out: TrainJobParams = {};
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2) as [string, string | undefined];
    if (flag === '--tune' || flag === '--no-tune') {
      if (inline !== undefined) throw new UsageError(`${flag} takes no value`);
      if (out.tune !== undefined) throw new UsageError('--tune or --no-tune given twice');
      out.tune = flag === '--tune';
      continue;
    }
    if (!['--recipe', '--from', '--to'].includes(flag)) throw new UsageError(`unknown argument "${args[i]}"`);
    const value = inline ?? args[++i];
    if (value === undefined || value === '') throw new UsageError(`${flag} needs a value`);
    const key = flag.slice(2) as 'recipe' | 'from' | 'to';
    if (out[key] !== undefined) throw new UsageError(`${flag} given twice`);
    out[key] = key === 'recipe' ? value : isoDate(flag, value);
  }
  if (out.from && out.to && out.from >= out.to) throw new UsageError('--from must be before --to');
  return out;
}

/** Pipeline order (the stored result's keys come back in the database's order, not the run's). */
function stepRank(step: string): number {
  if (step === 'fit:hybrid') return 2.5;
  if (step.startsWith('fit:')) return 2;
  if (step === 'tune') return 1.5;
  const order = ['load', 'dataset', '', 'serving', 'encode', 'write', 'publish', 'total'];
  const at = order.indexOf(step);
  return at < 0 ? 6.5 : at;
}

const count = (n: number) => n.toLocaleString('en-US');
const ms = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${Math.round(n)} ms`);

/** What the blend failed to beat, by keep rule (a record without one, or a rule on every window: every window). */
const LOST_ON: Record<string, string> = {
  'per-mode-majority': "the windows' mean and most windows",
  'per-mode-trimmed': "the windows' mean (its largest window clipped to the next) and most windows",
  'per-mode-outlier': "the windows' mean and most windows, an outlier window set aside",
};

/** Whether tuning chose the weights, and on what; or why it kept the recipe's (a reason the caller must see). */
function tuningLine(t: NonNullable<TrainResult['tuning']>): string {
  if ('skipped' in t) return `skipped: ${t.skipped}`;
  const who = (name: string) => (name === 'blend' ? 'the blend' : `${name} alone`);
  const split = t.served !== undefined && t.served.novel !== t.served.all;
  const chosen = split
    ? `new items: ${who(t.served!.novel)}, own items: ${who(t.served!.all)} (each half judged on its own lists)`
    : t.chosen === 'blend' ? 'the blend' : `${t.chosen} alone (the blend did not beat it on ${LOST_ON[t.keepRule ?? ''] ?? 'every window'})`;
  return `${chosen}, chosen on ${t.folds.length} windows of ${t.days} days before ${t.folds.at(-1)?.end.slice(0, 10) ?? 'the end'}`;
}

/**
 * The buyers learned from and, when some got no precomputed list (their latest purchase before
 * PRECOMPUTE_DAYS of the data's end), how many did: the serving-users table counts only those, and a
 * reader comparing the two took the difference for customers lost.
 */
function usersLine(r: TrainResult): string {
  const users = r.data.users;
  const precomputed = r.contents.tables[USERS_TABLE];
  if (precomputed === undefined || precomputed >= users) return count(users);
  return `${count(users)} (${count(precomputed)} with a precomputed list; the other ${count(users - precomputed)}, whose latest purchase is older than the precompute window (the recipe's serving.precomputeDays, else PRECOMPUTE_DAYS) before the data's end, are scored on request)`;
}

/** What a finished training prints: the version, what it learned from, how it was tuned and where the time went. */
export function formatTrainResult(r: TrainResult): string {
  const rows: [string, string][] = [
    ['version', r.activated === false ? `${r.version} (NOT ACTIVE: ${r.notActivated ?? 'another version was activated meanwhile'})` : r.version],
    ['recipe', r.recipeFile && r.recipeFile !== r.recipe ? `${r.recipe} (models/${r.recipeFile}.json)` : r.recipe],
    ['events', r.data.events.toLocaleString('en-US')],
    ['users', usersLine(r)],
    // catalogItems is the model's item table: the catalogue (bought or not) and any item known only from a
    // purchase. Called "in the model", it read as what the recommenders learned from; what they learned from is
    // the bought items, and a source that left some of those out says so on its own line below.
    ['items', `${r.data.items.toLocaleString('en-US')} bought of ${r.data.catalogItems.toLocaleString('en-US')} in the catalogue`],
    ['orders', r.data.orders.toLocaleString('en-US')],
    // A source that left bought items out (EASE over its maxItems): not every bought item above scores from it.
    ...Object.entries(r.restrictions ?? {}).map(([source, c]): [string, string] => [
      `  ${source}`,
      `${c.recommender} models only its ${count(c.restrictedTo)} most-bought of the ${count(c.boughtItems)} bought items (maxItems): the other ${count(c.boughtItems - c.restrictedTo)} score 0 from it`,
    ]),
    ...(r.tuning ? [['tuning', tuningLine(r.tuning)] as [string, string]] : []),
    ...Object.entries(r.durations)
      .sort(([a], [b]) => stepRank(a) - stepRank(b))
      .map(([step, t]): [string, string] => [step === 'total' ? 'total' : `  ${step}`, ms(t)]),
  ];
  const left = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(left)}  ${v}`).join('\n');
}

async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, USAGE, parseTrainArgs);
  if (!cli.ok) return cli.exit;
  const params = cli.value;
  const config = loadConfig();
  return runJobCommand(config, {
    label: 'train',
    what: 'training',
    there: 'training there',
    type: JOB_TYPES.train,
    route: '/v1/training-jobs',
    body: params,
    submit: (services, runningAs) => services.jobService.submitTraining({ ...params, recipe: params.recipe ?? config.DEFAULT_RECIPE }, { runningAs }),
    print: (result) => console.log(formatTrainResult(result as TrainResult)),
  });
}

runCli(import.meta.url, main);
