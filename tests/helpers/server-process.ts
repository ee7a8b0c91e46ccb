import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './private-servers.js';
import { nodeArgs } from './built-entry.js';

/** A server (src/server.ts) started as a child process: its output so far and its base URL. */
export interface ServerProcess {
  child: ChildProcess;
  output: string;
  base: string;
}

/**
 * A function that starts the server on a free port with `env()` (read at each start, so private servers started
 * later can be named) and the start's `extra` variables, instead of the caller's DATABASE_URL, REDIS_URL and
 * API_KEYS; every child is pushed on `children` for the file's afterAll to kill.
 */
export function serverStarter(env: () => Record<string, string>, children: ChildProcess[]) {
  return async (extra: Record<string, string> = {}): Promise<ServerProcess> => {
    const port = await freePort();
    const { DATABASE_URL: _d, REDIS_URL: _r, API_KEYS: _k, ...inherited } = process.env;
    const child = spawn(process.execPath, nodeArgs('src/server.ts'), {
      env: { ...inherited, ...env(), PORT: String(port), ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const proc: ServerProcess = { child, output: '', base: `http://127.0.0.1:${port}` };
    child.stdout!.on('data', (b) => (proc.output += b));
    child.stderr!.on('data', (b) => (proc.output += b));
    return proc;
  };
}

/** GET with an admin key: the status and the JSON body (status 0 when nothing answered). */
export const getAs =
  (adminKey: string) =>
  (base: string, route: string): Promise<{ status: number; body: Record<string, unknown> | null }> =>
    fetch(new URL(route, base), { headers: { authorization: `Bearer ${adminKey}` } }).then(
      async (r) => ({ status: r.status, body: (await r.json().catch(() => null)) as Record<string, unknown> | null }),
      () => ({ status: 0, body: null }),
    );

/** Reads every 100 ms until `done` or `ms` have passed; the last read either way. */
export async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await read();
  while (!done(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    v = await read();
  }
  return v;
}

/** A server's output without its request lines: what a failed expectation shows. */
export const withoutRequestLines = (out: string) => out.split('\n').filter((l) => !l.includes('"msg":"request')).join('\n');
