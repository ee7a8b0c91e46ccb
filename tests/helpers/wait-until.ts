/**
 * Polls `probe` every 100 ms until it returns true (a probe that throws counts as false), or fails after `ms` naming
 * `what`: a wait for something another process or server does, bounded so a test that never sees it fails.
 */
export async function waitUntil(what: string, probe: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
