import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import { createCatalogRepository } from '../data/catalog-repository.js';
import { createEventRepository } from '../data/event-repository.js';
import { openDatabase } from '../data/open-database.js';
import { purchaseColumnsOf } from '../evaluation/purchase-columns.js';
import { readOwedFreeInput, type OwedFreeSources } from '../evaluation/owed-free-input.js';
import { tuningSpanDays, type RollingValidation } from '../evaluation/rolling-tune.js';
import type { SingleSourceCoverage, SingleSourceDiscount } from '../evaluation/single-source-coverage.js';
import { purchasesOf, type SplitInput } from '../evaluation/splits.js';
import { isRecipeName, parseRecipe, withTuning } from '../training/recipe.js';
import { DATE_ORDERS, type DateOrder } from '../data/importers/field-parsers.js';
import { DELIMITER_NAMES, type CsvDelimiter } from '../data/importers/csv-source.js';
import { recipeToRaw, tuneRecipeOn } from '../training/tune-for-training.js';
import { defaultOnlineRetailPath, DEFAULT_ONLINE_RETAIL_RELATIVE, loadOnlineRetail } from './online-retail-input.js';
import { parseCommandLine, runCli, UsageError } from './run-cli.js';

const USAGE = `Usage: npm run tune -- [--recipe NAME] [--out NAME] [--folds N] [--days N] [--end DATE] [--online-retail [FILE]]
       [--date-order mdy|dmy] [--delimiter ,|;] [--min-coverage X] [--rounds N] [--no-variants]

Tunes models/NAME.json (default: DEFAULT_RECIPE, else default) exactly as a training tunes it, by rolling-origin
validation on data before --end only: --folds windows of --days back to back before --end (default:
after the latest event; pass the evaluation cutoff, e.g. 2011-11-01, so tuning never sees the test
period). Folds, days, --min-coverage and the per-source alternatives (--no-variants drops them) default
to the recipe's tune section (3 x 30 days, coverage 0.3). Each source keeps the hyperparameters it
scores best with alone over the folds, the blend weights are tuned on the mean over folds (on new
items by novel NDCG, on the customer's own items by all-mode NDCG), and each of those halves is kept only
if it beats the best single source on the folds' mean and on most folds (the recipe's tune.keepRule,
default per-mode-majority; per-mode and sum ask every fold). It tunes on at most the recipe's tune.maxCustomers
customers (default 5,000) and tune.maxPurchases of their purchases (default 500,000). Writes the recipe with its validation to models/OUT.json (default: NAME-tuned). Data comes from the database (DATABASE_URL
or the embedded one) unless --online-retail reads a UCI Online Retail CSV: FILE, or without it
ONLINE_RETAIL_CSV, or ${DEFAULT_ONLINE_RETAIL_RELATIVE} beside the repository, by npm run import's rules (a row it
refuses is not tuned on); its slashed dates are read as --date-order says, else in the order the file's dates tell,
and its fields as separated by --delimiter ("," or ";", quoted in a shell; comma, semicolon), else as the file's
first lines tell (as npm run import reads them).`;


/** The command line; unset tuning options come from the recipe's tune section (or its defaults). */
export interface TuneArgs {
  recipe: string;
  out: string;
  folds?: number;
  days?: number;
  end?: string;
  onlineRetail?: string;
  /** With onlineRetail: how its slashed dates are read (else told from the file, as the importer does). */
  dateOrder?: DateOrder;
  /** With onlineRetail: the fields' delimiter (else told from the file, as the importer does). */
  delimiter?: CsvDelimiter;
  minCoverage?: number;
  rounds: number;
  variants?: boolean;
}

const VALUE_FLAGS = ['--recipe', '--out', '--folds', '--days', '--end', '--online-retail', '--date-order', '--delimiter', '--min-coverage', '--rounds'];

/** Parses and checks the arguments before any data is read. */
export function parseTuneArgs(args: string[], env: NodeJS.ProcessEnv = process.env): TuneArgs {
  // The server's configuration names the recipe trainings use: the one to tune unless --recipe says otherwise.
  const recipe = env.DEFAULT_RECIPE?.trim() || 'default';
  if (!isRecipeName(recipe)) throw new UsageError(`DEFAULT_RECIPE: "${recipe}" is not a recipe name`);
  const out: TuneArgs = { recipe, out: '', rounds: 3 };
  const seen = new Set<string>();
  for (let a = 0; a < args.length; a++) {
    // --flag=value as --flag value, as the other commands take them.
    const [flag, inline] = args[a].split(/=(.*)/s, 2) as [string, string | undefined];
    if (seen.has(flag)) throw new UsageError(`${flag} given twice`);
    seen.add(flag);
    if (flag === '--no-variants' && inline === undefined) {
      out.variants = false;
      continue;
    }
    if (flag === '--online-retail' && inline === undefined && (args[a + 1] === undefined || args[a + 1].startsWith('--'))) {
      // No file named: the documented default (ONLINE_RETAIL_CSV, else ../shared/... beside the repository).
      const file = defaultOnlineRetailPath(env);
      if (!existsSync(file)) throw new UsageError(`${file} does not exist: pass --online-retail FILE or set ONLINE_RETAIL_CSV`);
      out.onlineRetail = file;
      continue;
    }
    if (!VALUE_FLAGS.includes(flag)) throw new UsageError(`unknown option "${args[a]}"`);
    const value = inline ?? args[++a];
    if (value === undefined || value === '') throw new UsageError(`${flag} needs a value`);
    if (flag === '--recipe' || flag === '--out') {
      // Checked here, not when the recipe is written after minutes of tuning.
      if (!isRecipeName(value)) throw new UsageError(`${flag}: "${value}" is not a recipe name (letters, digits, ".", "_" and "-"; models/NAME.json, no path)`);
      if (value.endsWith('.json')) throw new UsageError(`${flag}: give the recipe's name without ".json" (models/NAME.json): ${value.slice(0, -5)}`);
      if (flag === '--recipe') out.recipe = value;
      else out.out = value;
    } else if (flag === '--end') {
      if (Number.isNaN(Date.parse(value))) throw new UsageError(`--end: "${value}" is not a date`);
      out.end = value;
    } else if (flag === '--online-retail') {
      if (!existsSync(value)) throw new UsageError(`${value} does not exist`);
      out.onlineRetail = value;
    } else if (flag === '--date-order') {
      if (!DATE_ORDERS.includes(value as DateOrder)) throw new UsageError(`--date-order needs ${DATE_ORDERS.join(' or ')}`);
      out.dateOrder = value as DateOrder;
    } else if (flag === '--delimiter') {
      const named = DELIMITER_NAMES.get(value);
      if (!named) throw new UsageError('--delimiter needs "," or ";" (or comma, semicolon)');
      out.delimiter = named;
    } else if (flag === '--days' || flag === '--folds' || flag === '--rounds' || flag === '--min-coverage') {
      const n = Number(value);
      if (!(n >= 0) || (flag !== '--min-coverage' && !(Number.isInteger(n) && n > 0))) throw new UsageError(`${flag}: bad value "${value}"`);
      if (flag === '--days') out.days = n;
      else if (flag === '--folds') out.folds = n;
      else if (flag === '--rounds') out.rounds = n;
      else out.minCoverage = n;
    } else throw new UsageError(`unknown option "${flag}"`);
  }
  out.out ||= `${out.recipe}-tuned`;
  if (out.dateOrder && !out.onlineRetail) throw new UsageError('--date-order applies to --online-retail (the database holds dates already read)');
  if (out.delimiter && !out.onlineRetail) throw new UsageError('--delimiter applies to --online-retail (the database holds the fields already read)');
  return out;
}

/** The arguments when models/ holds their recipe; else a usage error naming the recipes there (not a bare ENOENT later). */
export function withExistingRecipe(args: TuneArgs, dir = 'models'): TuneArgs {
  if (existsSync(join(dir, `${args.recipe}.json`))) return args;
  const known = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort() : [];
  throw new UsageError(`no recipe "${args.recipe}" (${dir}/${args.recipe}.json); the recipes are ${known.join(', ') || 'none'}`);
}

/**
 * The purchases, catalog and users to tune on, from the database: the purchases stream from a cursor in
 * batches of `batchSize` (default DEFAULT_STREAM_BATCH) into columns, as an evaluation and a training read
 * them, so no object per purchase is held (at ten times Online Retail one query result of every purchase
 * was most of the command's memory). Net of the returns dated before `returnsBefore` only (default: none, gross):
 * every fold trains on the purchases before its validation window, so a return made in a window (or after it)
 * is a fact its training side cannot know; the tune command passes its earliest window's start (tuningWindowsStart),
 * made from the latest purchase (`latest`) when no `end` is given. The customers whose erasure is owed are left
 * out, as an evaluation reads them (owed-free-input.ts): their purchases, attributes and purchase times.
 */
export async function readTuneInput(
  repos: OwedFreeSources,
  batchSize?: number,
  end?: string,
  returnsBefore: Date | ((latest: () => Promise<string | null>) => Promise<Date>) = NO_RETURNS,
): Promise<SplitInput> {
  // Purchases from `end` on are never tuned on: not read at all (the window is exclusive, as tuning's cutoff is).
  const to = end ? { to: new Date(end) } : {};
  return readOwedFreeInput(repos, async (latest) => ({ ...to, returnsBefore: typeof returnsBefore === 'function' ? await returnsBefore(latest) : returnsBefore }), batchSize);
}

/** A time before every return: nothing is netted. */
const NO_RETURNS = new Date('0001-01-01T00:00:00Z');

/**
 * The start of tuning's earliest validation window: `folds` windows of `days` back to back ending at `end`, or when
 * none is given, just after the latest purchase (rolling-tune.ts foldEnds). No purchases: no return is netted.
 */
export function tuningWindowsStart(spec: { folds: number; days: number; yearAgo?: boolean }, end: string | undefined, latest: string | null): Date {
  const last = end !== undefined ? Date.parse(end) : latest === null ? Number.NaN : Date.parse(latest) + 1;
  return Number.isFinite(last) ? new Date(last - tuningSpanDays(spec) * 86_400_000) : NO_RETURNS;
}

async function loadInput(args: TuneArgs, spec: { folds: number; days: number; yearAgo?: boolean }): Promise<SplitInput> {
  if (args.onlineRetail) {
    // Gross of the file's cancellations (loadOnlineRetail keeps them apart).
    const { events, items, users } = await loadOnlineRetail(args.onlineRetail, args.dateOrder, args.delimiter);
    return { purchases: purchaseColumnsOf(events), items, users };
  }
  const db = await openDatabase(loadConfig());
  try {
    const sources = { events: createEventRepository(db), catalog: createCatalogRepository(db) };
    const returnsBefore = async (latest: () => Promise<string | null>) => tuningWindowsStart(spec, args.end, args.end !== undefined ? null : await latest());
    return await readTuneInput(sources, undefined, args.end, returnsBefore);
  } finally {
    await db.close();
  }
}

/**
 * The line on the tuned blend when it is not served whole (validation.rejectedBlend, the whole tuned blend), else
 * undefined: which half of it is served, if one is (validation.served), so a published half is not called rejected.
 */
export function rejectedBlendLine(validation: Pick<RollingValidation, 'rejectedBlend' | 'served'>): string | undefined {
  const lost = validation.rejectedBlend;
  if (!lost) return undefined;
  const blend = `weights ${JSON.stringify(lost.weights)} repeat ${JSON.stringify(lost.repeatWeights ?? null)} discount ${lost.popularityDiscount}`;
  const served = validation.served;
  if (!served) return `tuned blend not kept: ${blend}`;
  if (served.all === 'blend') return `tuned blend kept for own items only (its repeat weights; new items: ${served.novel} alone): ${blend}`;
  if (served.novel === 'blend') return `tuned blend kept for new items only (its weights and discount; own items: ${served.all} alone): ${blend}`;
  return `tuned blend not kept (${served.novel === served.all ? `${served.novel} alone` : `new items: ${served.novel} alone, own items: ${served.all} alone`}): ${blend}`;
}

/** The line on the coverage re-rank searched for the source serving new items alone (`option`: tuning's singleSourceCoverage). */
export function singleSourceLine(single: SingleSourceDiscount, option: SingleSourceCoverage | undefined): string {
  return `${single.source}'s new items, discount ${single.popularityDiscount} (${single.applied ? 'served' : option === 'discount' ? 'not served: tune.singleSourceCoverage is discount, and no re-rank was worth its price on the folds: beta 0' : 'not served: tune.singleSourceCoverage is off'}): novel NDCG ${single.without.ndcg.toFixed(4)} -> ${single.with.ndcg.toFixed(4)}, coverage ${single.without.coverage.toFixed(3)} -> ${single.with.coverage.toFixed(3)}`;
}

async function main(argv: string[]): Promise<number> {
  const cli = parseCommandLine(argv, USAGE, (a) => withExistingRecipe(parseTuneArgs(a)), 'tune');
  if (!cli.ok) return cli.exit;
  const args = cli.value;
  const raw = JSON.parse(await readFile(join('models', `${args.recipe}.json`), 'utf8')) as Record<string, unknown>;
  const recipe = parseRecipe(raw, args.recipe);
  const started = performance.now();
  const given = { folds: args.folds, days: args.days, minCoverage: args.minCoverage, variants: args.variants };
  const spec = { ...recipe.tune, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
  const tuning = withTuning(recipe, spec);
  const input = await loadInput(args, tuning.tune!);
  if (purchasesOf(input).length === 0) {
    console.error(`not tuned: no purchases ${args.onlineRetail ? `in ${args.onlineRetail}` : 'in the database'}: nothing to tune on (import some first)`);
    return 1;
  }
  const log = (m: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${m}`);
  const tuned = await tuneRecipeOn(input, tuning, args.end, log, { rounds: args.rounds });
  if ('skipped' in tuned.validation) {
    console.error(`not tuned: ${tuned.validation.skipped}`);
    return 1;
  }
  const validation = tuned.validation;
  const written = { ...recipeToRaw(tuned.recipe), name: args.out, tune: tuned.recipe.tune, validation };
  parseRecipe(written, args.out);
  await writeFile(join('models', `${args.out}.json`), `${JSON.stringify(written, null, 2)}\n`);
  const s = validation.scores;
  const folds = validation.folds;
  console.log(`chosen: ${validation.chosen} (best single source ${validation.bestSingle})`);
  // The blend that lost, so what the single source was chosen over can be read (and refitted).
  const lost = rejectedBlendLine(validation);
  if (lost) console.log(lost);
  // A source alone serving new items: the coverage re-rank searched for it (single-source-coverage.ts), served or not.
  const single = validation.singleSourceDiscount;
  if (single) console.log(singleSourceLine(single, tuned.recipe.tune?.singleSourceCoverage));
  console.log(
    `validation ${folds.length} folds ${folds[0].start.slice(0, 10)}..${folds[folds.length - 1].end.slice(0, 10)}, mean: ` +
      `novel NDCG@10 ${s.novel.ndcg.toFixed(4)} recall@10 ${s.novel.recall.toFixed(4)} coverage ${s.novel.coverage.toFixed(3)}; all NDCG@10 ${s.all.ndcg.toFixed(4)}`,
  );
  console.log(`wrote models/${args.out}.json`);
  return 0;
}

runCli(import.meta.url, main);
