export const DAY_MS = 86_400_000;

/**
 * Exponential time decay: weight = 0.5^((now - ts) / halfLife), so an event one half-life old counts
 * half. Ages below zero (events after `now`) count fully; a null half-life switches decay off.
 */
export function decay(now: number, ts: number, halfLifeDays: number | null): number {
  if (halfLifeDays === null) return 1;
  const age = Math.max(0, now - ts);
  return Math.pow(0.5, age / (halfLifeDays * DAY_MS));
}
