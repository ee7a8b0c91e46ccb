import { pathToFileURL } from 'node:url';
import { printableLines } from './printable.js';

/**
 * Runs a command's `main` when its module is the process entry (not when a test imports it): the exit
 * code comes from `main`, and a failure prints one line for people instead of a stack trace.
 */
export function runCli(moduleUrl: string, main: (args: string[]) => Promise<number | void>): void {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return;
  main(process.argv.slice(2)).then(
    (code) => {
      if (typeof code === 'number') process.exitCode = code;
    },
    (err: unknown) => {
      // A message may quote the shop's file (a header row, an id): shown, not obeyed, by the terminal.
      console.error(`error: ${printableLines(err instanceof Error ? err.message : String(err))}`);
      process.exitCode = 1;
    },
  );
}

/** A mistake on the command line: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/**
 * A command's arguments parsed by `parse`, or the exit code when there is nothing to run: 0 after
 * printing the usage for --help / -h, 2 after printing a UsageError (prefixed `label:`) and the usage.
 * Any other error of `parse` propagates.
 */
export function parseCommandLine<T>(
  args: string[],
  usage: string,
  parse: (args: string[]) => T,
  label = 'error',
): { ok: true; value: T } | { ok: false; exit: number } {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    return { ok: false, exit: 0 };
  }
  try {
    return { ok: true, value: parse(args) };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${label}: ${err.message}\n\n${usage}`);
    return { ok: false, exit: 2 };
  }
}
