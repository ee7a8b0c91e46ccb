/**
 * The command line of a bench that reads one shop, `[DIR] [--data FILE]` and the bench's own options, parsed by node's
 * util.parseArgs: DIR is a generic shop's folder (generic-shop.ts), or without it Online Retail, whose file
 * online-retail.ts dataFile takes from --data. `--help` prints the usage and exits 0; an option the bench does not
 * take, an option without its value, or a second DIR prints it and exits 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { dataFile } from './online-retail.js';

type Options = NonNullable<ParseArgsConfig['options']>;
const COMMON = { data: { type: 'string' }, help: { type: 'boolean' } } as const satisfies Options;

export interface ShopBenchArgs<O extends Options> {
  /** The generic shop's folder; undefined: Online Retail (--data). */
  dir: string | undefined;
  /** The options given (a flag: true or undefined; a value: its string, or its `default`). */
  values: ReturnType<typeof parseArgs<{ options: O & typeof COMMON; allowPositionals: true; strict: true }>>['values'];
  /** Prints the usage and exits 2: for a check of the bench's own (an option it needs, say). */
  usageError(message?: string): never;
  /**
   * Online Retail's file: --data as parsed here (`--data FILE` or `--data=FILE`), else the default (online-retail.ts
   * dataFile). Not dataFile() on process.argv: that sees `--data` alone only, and read the default for `--data=FILE`.
   */
  dataFile(): string;
}

/** `usage`: the whole line printed (`usage: npx tsx bench/NAME.ts [DIR] …`); `options`: the bench's own, as parseArgs takes them. */
export function shopBenchArgs<const O extends Options>(usage: string, options: O, args: string[] = process.argv.slice(2)): ShopBenchArgs<O> {
  const usageError = (message?: string): never => {
    console.error(message ? `${message}\n${usage}` : usage);
    process.exit(2);
  };
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, ...COMMON }, allowPositionals: true, strict: true });
  } catch (err) {
    return usageError((err as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    process.exit(0);
  }
  if (parsed.positionals.length > 1) usageError(`one DIR at the most, given: ${parsed.positionals.join(' ')}`);
  const data = (parsed.values as { data?: string }).data;
  return { dir: parsed.positionals[0], values: parsed.values, usageError, dataFile: () => dataFile(data === undefined ? [] : ['--data', data]) };
}
