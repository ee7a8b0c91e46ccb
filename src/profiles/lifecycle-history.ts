import { DAY_MS } from './profile.js';
import { LIFECYCLE_STAGES, lifecycleStage, type LifecycleOptions, type LifecycleStage } from './segments.js';
import { startShared, waitForShared } from '../data/query-timeout.js';
import type { OwedErasures } from '../privacy/owed-erasures.js';
import { customersHeldError } from '../privacy/customers-held.js';

/** Customers per lifecycle stage as of one day. */
export interface LifecyclePoint {
  /** The reference day (ISO date): the last day of a month, or the latest purchase's day for the last point. */
  asOf: string;
  counts: Record<LifecycleStage, number>;
}

/** The last day (UTC day number) of each of the `months` months up to the one holding `lastDay`; the last is `lastDay` itself. */
export function monthEnds(firstDay: number, lastDay: number, months: number): number[] {
  const last = new Date(lastDay * DAY_MS);
  const out: number[] = [];
  for (let m = months - 1; m >= 0; m--) {
    // Day 0 of the next month is the last day of this one.
    const end = Math.floor(Date.UTC(last.getUTCFullYear(), last.getUTCMonth() - m + 1, 0) / DAY_MS);
    const day = Math.min(end, lastDay);
    if (day >= firstDay) out.push(day);
  }
  return out;
}

/** How many entries of the ascending `days` are <= day (binary search). */
function countUpTo(days: ArrayLike<number>, day: number): number {
  let lo = 0;
  let hi = days.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (days[mid] <= day) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Lifecycle stages over time: for each reference day, every customer who had bought by then gets the
 * stage `lifecycleStage` gives from the purchases up to that day (tenure, recency and mean interval
 * between distinct purchase days as profile.ts computes them, with that day as "now"). Customers
 * without a purchase yet are not counted.
 *
 * @param purchaseDays per customer, the distinct UTC day numbers (floor(ms / DAY_MS)) of their purchases, ascending
 */
export function lifecycleHistory(purchaseDays: readonly ArrayLike<number>[], asOfDays: readonly number[], options?: LifecycleOptions): LifecyclePoint[] {
  return asOfDays.map((now) => {
    const counts = Object.fromEntries(LIFECYCLE_STAGES.map((s) => [s, 0])) as Record<LifecycleStage, number>;
    for (const days of purchaseDays) {
      const n = countUpTo(days, now);
      if (n === 0) continue;
      const first = days[0];
      const last = days[n - 1];
      counts[lifecycleStage({ tenureDays: now - first, recencyDays: now - last, meanIntervalDays: n > 1 ? (last - first) / (n - 1) : null }, options)]++;
    }
    return { asOf: new Date(now * DAY_MS).toISOString().slice(0, 10), counts };
  });
}

/** Lifecycle history of the stored purchases, over the last `months` months. */
export interface LifecycleHistory {
  (months: number): Promise<LifecyclePoint[]>;
  /** Starts reading the purchase days unless fresh ones are kept (the dashboard calls it when opened), so the view finds them in memory. Never throws. */
  prefetch(): void;
  /** Drops an erased customer's days, kept and being read, so the next answer no longer counts them. */
  forgetUser(userId: string): void;
}

/**
 * Lifecycle history of the stored purchases: the last `months` months up to the latest purchase.
 * Reading every customer's purchase days is a scan of all purchases (~0.2-0.7 s on Online Retail's
 * 400k), and month-end counts hardly move within a minute, so the days are reused, stale while
 * revalidating: within `cacheMs` (default 60 s) they are served from memory; after it the next call is
 * still answered from memory while a fresh read replaces them, so no view waits for the scan once the
 * days have been read (the dashboard page prefetches them when it is opened). An erasure does not wait
 * for the next read: the customer's days are dropped from memory at once (forgetUser), and from a read
 * in flight when it lands, which may have scanned before the erasure committed.
 *
 * @param deps.purchaseDays per customer id, the distinct UTC day numbers of their purchases, ascending
 */
export function createLifecycleHistory(deps: {
  purchaseDays: () => Promise<Map<string, number[]>>;
  cacheMs?: number;
  now?: () => number;
  /**
   * The customers whose erasure is owed (privacy/owed-erasures.ts): not counted until it completes, as an erased
   * customer is not (their days stay kept: the erasure may still fail to complete for a while, never to be undone).
   */
  owed?: Pick<OwedErasures, 'has' | 'size' | 'ids'>;
  /** True while every customer is held (serving.holdingCustomers): the owed are not known yet, so the history is refused (503). */
  customersHeld?: () => boolean;
}): LifecycleHistory {
  const cacheMs = deps.cacheMs ?? 60_000;
  const now = deps.now ?? Date.now;
  /** The latest successful read, and the read in flight (if any). */
  let kept: { at: number; days: Map<string, number[]> } | null = null;
  let reading: Promise<Map<string, number[]>> | null = null;
  /** Customers erased while `reading` ran: dropped from its result. */
  let erasedWhileReading = new Set<string>();
  const read = () => {
    // Shared by the requests meanwhile: not given up at the first one's statement limit (query-timeout.ts).
    reading ??= startShared(deps.purchaseDays).then(
      (days) => {
        for (const id of erasedWhileReading) days.delete(id);
        erasedWhileReading = new Set();
        kept = { at: now(), days };
        reading = null;
        return days;
      },
      (err: unknown) => {
        // A failed read is not kept: the next call tries again.
        erasedWhileReading = new Set();
        reading = null;
        throw err;
      },
    );
    return reading;
  };
  const purchaseDays = (): Promise<Map<string, number[]>> => {
    if (!kept) return waitForShared(read());
    if (now() - kept.at >= cacheMs) read().catch(() => {});
    return Promise.resolve(kept.days);
  };
  /** Every kept customer's days but those of the customers owed: each owed id looked up (few owed), or each customer tested (many). */
  const withoutOwed = (kept: Map<string, number[]>): number[][] => {
    const owed = deps.owed;
    if (!owed || owed.size === 0) return [...kept.values()];
    if (owed.size >= kept.size) return [...kept].filter(([id]) => !owed.has(id)).map(([, d]) => d);
    const left = new Set<number[]>();
    for (const id of owed.ids()) {
      const d = kept.get(id);
      if (d) left.add(d);
    }
    return left.size === 0 ? [...kept.values()] : [...kept.values()].filter((d) => !left.has(d));
  };
  const history = async (months: number): Promise<LifecyclePoint[]> => {
    if (deps.customersHeld?.()) throw customersHeldError();
    const days = withoutOwed(await purchaseDays());
    if (days.length === 0) return [];
    let first = Infinity;
    let last = -Infinity;
    for (const d of days) {
      if (d[0] < first) first = d[0];
      if (d[d.length - 1] > last) last = d[d.length - 1];
    }
    return lifecycleHistory(days, monthEnds(first, last, months));
  };
  return Object.assign(history, {
    prefetch: () => void purchaseDays().catch(() => {}),
    forgetUser: (userId: string) => {
      kept?.days.delete(userId);
      if (reading) erasedWhileReading.add(userId);
    },
  });
}
