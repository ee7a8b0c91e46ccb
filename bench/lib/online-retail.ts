import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ONLINE_RETAIL_RELATIVE, ONLINE_RETAIL_PATH } from '../../src/cli/online-retail-input.js';
import type { RowSplitInput } from '../../src/evaluation/splits.js';
import type { PurchaseRow } from '../../src/recommenders/dataset.js';
import { loadRecipe, type Recipe } from '../../src/training/recipe.js';

/** The benchmarks read Online Retail with the same loader as `npm run tune -- --online-retail FILE`. */
export { loadOnlineRetail, ONLINE_RETAIL_PATH } from '../../src/cli/online-retail-input.js';

/**
 * The data file of a benchmark: `--data FILE` on its command line, else ONLINE_RETAIL_CSV, else
 * ../shared/datasets/online-retail/online-retail.csv.gz beside the repository. Exits with a message
 * saying where to get the file when it is not there.
 */
export function dataFile(argv: string[] = process.argv.slice(2)): string {
  const at = argv.indexOf('--data');
  const file = at >= 0 ? argv[at + 1] : ONLINE_RETAIL_PATH;
  if (!file || !existsSync(file)) {
    console.error(
      `${file ?? '--data needs a value'}: no such file. Download "Online Retail" from the UCI Machine Learning Repository ` +
        `(CC BY 4.0), save it as CSV (gzip or not), and pass --data FILE or set ONLINE_RETAIL_CSV ` +
        `(default: ${DEFAULT_ONLINE_RETAIL_RELATIVE} beside the repository); see bench/README.md.`,
    );
    process.exit(2);
  }
  return file;
}

/** The command line without `--data FILE`: what is left for the benchmark's own arguments. */
export function withoutDataArg(argv: string[] = process.argv.slice(2)): string[] {
  const at = argv.indexOf('--data');
  return at < 0 ? argv : [...argv.slice(0, at), ...argv.slice(at + 2)];
}

/**
 * `n` disjoint copies of the data in memory, as bench/scale.ts writes them to a file: copy c's
 * customers, products and orders end in `~c` (products keep their texts), purchases stay in time order.
 */
export function inMemoryCopies(data: RowSplitInput, n: number): RowSplitInput {
  if (n <= 1) return data;
  const events: PurchaseRow[] = [];
  for (const e of data.events) {
    for (let c = 0; c < n; c++) events.push({ ...e, userId: `${e.userId}~${c}`, itemId: `${e.itemId}~${c}`, orderId: e.orderId === null ? null : `${e.orderId}~${c}` });
  }
  const copy = <T extends object>(rows: Iterable<T> | undefined, key: keyof T) =>
    rows && [...rows].flatMap((r) => Array.from({ length: n }, (_, c) => ({ ...r, [key]: `${String(r[key])}~${c}` })));
  return { events, items: copy(data.items, 'id'), users: copy(data.users, 'id') };
}

/** `take(flag)`: the value after `flag` in `args`, removed from them (so what is left is positional), or undefined. */
export function optionTaker(args: string[]): (flag: string) => string | undefined {
  return (flag) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
}

/** A recipe of the repository's models/, wherever the bench is started from. */
export function benchRecipe(name: string): Promise<Recipe> {
  return loadRecipe(name, join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'models'));
}
