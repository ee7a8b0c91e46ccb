import type { ChildProcess } from 'node:child_process';

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
