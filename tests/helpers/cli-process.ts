import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** How a command-line run ended: exit code and what it printed. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a CLI script (e.g. src/cli/import-command.ts) through tsx in a child process, as a user would,
 * with exactly `env`; a compiled one (a .js file: builtEntry, tests/helpers/built-entry.ts) with plain node.
 * A non-zero exit is returned rather than thrown: the tests assert on it.
 */
export async function runCliScript(script: string, args: string[], opts: { env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<CliRun> {
  try {
    const entry = script.endsWith('.js') ? [script] : ['--import', 'tsx', script];
    const { stdout, stderr } = await run(process.execPath, [...entry, ...args], { env: opts.env, timeout: opts.timeoutMs });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as CliRun;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
