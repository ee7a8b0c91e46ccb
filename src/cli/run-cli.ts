import { pathToFileURL } from 'node:url';

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
      console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
