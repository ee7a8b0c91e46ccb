import type { Dataset } from './dataset.js';
import type { HistoryEntry, UserContext } from './recommender.js';

/** One distinct item of a history with the time it was last bought. */
export interface RecentItem {
  item: number;
  ts: number;
}

/**
 * The distinct items of a history, most recently bought first (ties: lower item index first), each
 * with its latest purchase time; at most `limit` of them (0 = all). Items outside [0, itemCount) are
 * ignored, so a history holding items unknown to the model cannot index out of range.
 */
export function recentDistinctItems(history: readonly HistoryEntry[], itemCount: number, limit = 0): RecentItem[] {
  const latest = new Map<number, number>();
  for (const h of history) {
    if (!Number.isInteger(h.item) || h.item < 0 || h.item >= itemCount) continue;
    const seen = latest.get(h.item);
    if (seen === undefined || h.ts > seen) latest.set(h.item, h.ts);
  }
  const out = [...latest].map(([item, ts]) => ({ item, ts })).sort((a, b) => b.ts - a.ts || a.item - b.item);
  return limit > 0 ? out.slice(0, limit) : out;
}

/** The purchase times of each item: one per distinct order (the order's first event of that item), ascending. */
export function orderTimesByItem(history: readonly HistoryEntry[], itemCount: number): Map<number, number[]> {
  const firstTs = new Map<number, Map<string | number, number>>();
  for (const h of history) {
    if (!Number.isInteger(h.item) || h.item < 0 || h.item >= itemCount) continue;
    let orders = firstTs.get(h.item);
    if (!orders) firstTs.set(h.item, (orders = new Map()));
    const seen = orders.get(h.order);
    if (seen === undefined || h.ts < seen) orders.set(h.order, h.ts);
  }
  const out = new Map<number, number[]>();
  for (const [item, orders] of firstTs) out.set(item, [...orders.values()].sort((a, b) => a - b));
  return out;
}

/**
 * How due an item is on its purchase cycle at `now`, from its order times (ascending, two or more):
 *   exp(-ln(elapsed / cycle)^2 / (2 * width^2)), cycle = the median gap between the times,
 * every gap and the time elapsed since the last at least `minInterval`. 1 when the time since the last
 * order equals the usual gap, so a coffee bought every 30 days is due on day 30.
 */
export function cycleDue(times: readonly number[], now: number, minInterval: number, width: number): number {
  const gaps: number[] = [];
  for (let j = 1; j < times.length; j++) gaps.push(Math.max(minInterval, times[j] - times[j - 1]));
  gaps.sort((a, b) => a - b);
  const mid = gaps.length >> 1;
  const cycle = gaps.length % 2 ? gaps[mid] : (gaps[mid - 1] + gaps[mid]) / 2;
  const ratio = Math.max(minInterval, now - times[times.length - 1]) / cycle;
  return Math.exp(-(Math.log(ratio) ** 2) / (2 * width ** 2));
}

/** Number of distinct orders (baskets) in a history: the hybrid's measure of how much we know. */
export function distinctOrderCount(history: readonly HistoryEntry[]): number {
  return new Set(history.map((h) => h.order)).size;
}

/** Every user's history from a dataset's events (already sorted by ts), indexed by user. */
export function datasetHistories(ds: Dataset): HistoryEntry[][] {
  const out: HistoryEntry[][] = ds.userIds.map(() => []);
  for (let e = 0; e < ds.eventUser.length; e++) out[ds.eventUser[e]].push(eventEntry(ds, e));
  return out;
}

/**
 * Each user's events in the dataset's (time) order, as positions: user u's are
 * `events[start[u]..start[u + 1])`. Lets a build read any user's history without holding every history
 * as objects.
 */
export interface UserEventIndex {
  start: Int32Array;
  events: Int32Array;
}

/** The index of a dataset's events by user: one counting pass, order kept within each user. */
export function userEventIndex(ds: Pick<Dataset, 'userIds' | 'eventUser'>): UserEventIndex {
  const users = ds.userIds.length;
  const start = new Int32Array(users + 1);
  for (let e = 0; e < ds.eventUser.length; e++) start[ds.eventUser[e] + 1]++;
  for (let u = 0; u < users; u++) start[u + 1] += start[u];
  const fill = start.slice(0, users);
  const events = new Int32Array(ds.eventUser.length);
  for (let e = 0; e < ds.eventUser.length; e++) events[fill[ds.eventUser[e]]++] = e;
  return { start, events };
}

/** User `u`'s history from the index: what datasetHistories(ds)[u] holds. */
export function indexedHistory(ds: Dataset, index: UserEventIndex, u: number): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (let p = index.start[u]; p < index.start[u + 1]; p++) out.push(eventEntry(ds, index.events[p]));
  return out;
}

/** Purchase event `e` of the dataset as a history entry. */
export function eventEntry(ds: Pick<Dataset, 'eventItem' | 'eventTs' | 'eventQuantity' | 'eventOrder'>, e: number): HistoryEntry {
  return { item: ds.eventItem[e], ts: ds.eventTs[e], quantity: ds.eventQuantity[e], order: ds.eventOrder[e] };
}

/** The scoring context of a known user of the dataset. */
export function userContext(ds: Dataset, histories: HistoryEntry[][], user: number, now = ds.now): UserContext {
  return { user, history: histories[user] ?? [], attributes: ds.userAttributes[user] ?? {}, now };
}
