import { existsSync } from 'node:fs';
import { DEFAULT_ONLINE_RETAIL_RELATIVE, ONLINE_RETAIL_PATH } from '../../src/cli/online-retail-input.js';

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
