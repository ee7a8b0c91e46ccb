import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * `src/server.ts` as `npm start` runs it (same V8 flag), listening on 127.0.0.1:`port`, with `env` over
 * this process's environment; its stderr goes to the bench's.
 */
export function spawnServer(port: number, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Polls `url` until it answers 2xx; fails when the service process exits first or the time runs out. */
export async function waitReady(url: string, child: ChildProcess, timeoutMs: number, pollMs = 250): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode} before it was ready`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${url} did not become ready`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
