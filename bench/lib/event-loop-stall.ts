/**
 * `work`'s wall time and the longest gap of a 1 ms timer while it runs, probed until `settleMs` after it
 * ends (its last synchronous stretch counts): the longest any other callback of this process waited.
 */
export async function withStallProbe(work: () => Promise<unknown>, settleMs = 20): Promise<{ ms: number; stallMs: number }> {
  let longest = 0;
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, settleMs));
  clearInterval(probe);
  return { ms, stallMs: longest };
}
