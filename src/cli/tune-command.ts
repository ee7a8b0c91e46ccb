import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import { createCatalogRepository } from '../data/catalog-repository.js';
import { createEventRepository } from '../data/event-repository.js';
import { openDatabase } from '../data/open-database.js';
import type { SplitInput } from '../evaluation/splits.js';
import { tuneRecipe, type TuneOptions } from '../evaluation/tune.js';
import { parseRecipe } from '../training/recipe.js';
import { defaultOnlineRetailPath, DEFAULT_ONLINE_RETAIL_RELATIVE, loadOnlineRetail } from './online-retail-input.js';
import { parseCommandLine, runCli, UsageError } from './run-cli.js';

const USAGE = `Usage: npm run tune -- [--recipe NAME] [--out NAME] [--days N] [--end DATE] [--online-retail [FILE]]
       [--min-coverage X] [--rounds N] [--no-variants]

Tunes the hybrid blend weights of models/NAME.json (default: default) and a few hyperparameters on a
validation split only: the last --days (default 30) before --end (default: after the latest event;
pass the evaluation cutoff, e.g. 2011-11-01, so tuning never sees the test period). Writes the best
recipe with its validation scores to models/OUT.json (default: NAME-tuned). Data comes from the
database (DATABASE_URL or the embedded one) unless --online-retail reads a UCI Online Retail CSV:
FILE, or without it ONLINE_RETAIL_CSV, or ${DEFAULT_ONLINE_RETAIL_RELATIVE} beside the repository.`;


export interface TuneArgs {
  recipe: string;
  out: string;
  days: number;
  end?: string;
  onlineRetail?: string;
  minCoverage: number;
  rounds: number;
  variants: boolean;
}

const VALUE_FLAGS = ['--recipe', '--out', '--days', '--end', '--online-retail', '--min-coverage', '--rounds'];

/** Parses and checks the arguments before any data is read. */
export function parseTuneArgs(args: string[], env: NodeJS.ProcessEnv = process.env): TuneArgs {
  const out: TuneArgs = { recipe: 'default', out: '', days: 30, minCoverage: 0.3, rounds: 3, variants: true };
  for (let a = 0; a < args.length; a++) {
    const flag = args[a];
    if (flag === '--no-variants') {
      out.variants = false;
      continue;
    }
    if (flag === '--online-retail' && (args[a + 1] === undefined || args[a + 1].startsWith('--'))) {
      // No file named: the documented default (ONLINE_RETAIL_CSV, else ../shared/... beside the repository).
      const file = defaultOnlineRetailPath(env);
      if (!existsSync(file)) throw new UsageError(`${file} does not exist: pass --online-retail FILE or set ONLINE_RETAIL_CSV`);
      out.onlineRetail = file;
      continue;
    }
    if (!VALUE_FLAGS.includes(flag)) throw new UsageError(`unknown option "${flag}"`);
    const value = args[++a];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    if (flag === '--recipe') out.recipe = value;
    else if (flag === '--out') out.out = value;
    else if (flag === '--end') {
      if (Number.isNaN(Date.parse(value))) throw new UsageError(`--end: "${value}" is not a date`);
      out.end = value;
    } else if (flag === '--online-retail') {
      if (!existsSync(value)) throw new UsageError(`${value} does not exist`);
      out.onlineRetail = value;
    } else if (flag === '--days' || flag === '--rounds' || flag === '--min-coverage') {
      const n = Number(value);
      if (!(n >= 0) || (flag !== '--min-coverage' && !(Number.isInteger(n) && n > 0))) throw new UsageError(`${flag}: bad value "${value}"`);
      if (flag === '--days') out.days = n;
      else if (flag === '--rounds') out.rounds = n;
      else out.minCoverage = n;
    } else throw new UsageError(`unknown option "${flag}"`);
  }
  out.out ||= `${out.recipe}-tuned`;
  return out;
}

/** Hyperparameter alternatives tried per source when it is in the recipe (each one refit). */
export const DEFAULT_VARIANTS: TuneOptions['variants'] = {
  'item-knn': [{ neighbours: 20 }, { neighbours: 100 }, { shrink: 0 }, { shrink: 50 }],
  'buy-again': [{ propensityWeight: 0.5 }, { propensityWeight: 2 }],
  trend: [{ halfLifeDays: 5 }, { halfLifeDays: 20 }],
};

async function loadInput(args: TuneArgs): Promise<SplitInput> {
  if (args.onlineRetail) return loadOnlineRetail(args.onlineRetail);
  const db = await openDatabase(loadConfig());
  try {
    const [events, items, users] = await Promise.all([
      createEventRepository(db).loadPurchaseRows(),
      createCatalogRepository(db).listItems(),
      createCatalogRepository(db).listUsers(),
    ]);
    return { events, items, users };
  } finally {
    await db.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const cli = parseCommandLine(argv, USAGE, parseTuneArgs, 'tune');
  if (!cli.ok) return cli.exit;
  const args = cli.value;
  const raw = JSON.parse(await readFile(join('models', `${args.recipe}.json`), 'utf8')) as Record<string, unknown>;
  const recipe = parseRecipe(raw, args.recipe);
  const started = performance.now();
  const input = await loadInput(args);
  const variants = args.variants ? Object.fromEntries(Object.entries(DEFAULT_VARIANTS!).filter(([s]) => s in recipe.sources)) : {};
  const result = await tuneRecipe(input, recipe, raw, {
    days: args.days,
    end: args.end,
    rounds: args.rounds,
    minCoverage: args.minCoverage,
    variants,
    onProgress: (m) => console.log(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${m}`),
  });
  const written = { ...result.recipe, name: args.out, validation: result.validation };
  parseRecipe(written, args.out);
  await writeFile(join('models', `${args.out}.json`), `${JSON.stringify(written, null, 2)}\n`);
  const s = result.validation.scores;
  console.log(
    `validation ${result.validation.split.start.slice(0, 10)}..${result.validation.split.end.slice(0, 10)}: ` +
      `novel NDCG@10 ${s.novel.ndcg.toFixed(4)} recall@10 ${s.novel.recall.toFixed(4)} coverage ${s.novel.coverage.toFixed(3)}; all NDCG@10 ${s.all.ndcg.toFixed(4)}`,
  );
  console.log(`wrote models/${args.out}.json`);
  return 0;
}

runCli(import.meta.url, main);
