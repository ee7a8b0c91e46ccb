/**
 * Which purchases a customer's returns take units off (pure: no IO). Returns are events of their own
 * (return_events, migration 033); every reader that wants purchases as kept (training, evaluation, profiles)
 * reads them net of the returns through this one rule:
 *
 * - a return takes units off purchases of its own customer and item, made at or before it (a return cannot
 *   come before the sale), and only from the order it names when it names one;
 * - the latest such purchase first: a size sent back, an order cancelled minutes later, returns from the order
 *   just placed, not from one of a year ago (which would then no longer count as bought with its basket);
 * - returns naming an order are applied first, then those naming none, each group in time order (ties in the
 *   given order), each taking what those before it left: a return naming an order can take only that order's
 *   units, so one naming none that came earlier must not take them while an older purchase was left to it;
 * - units beyond what was bought take nothing off (`unmatched`): a purchase's quantity never goes below 0.
 *
 * A purchase with every unit returned is not bought; one with some returned keeps the rest.
 */

export interface PurchaseLine {
  userId: string;
  itemId: string;
  quantity: number;
  orderId: string | null;
  /** Epoch ms. */
  ts: number;
}

export interface ReturnLine {
  userId: string;
  itemId: string;
  quantity: number;
  /** The order the units were bought in, when known. */
  orderId?: string | null;
  /** Epoch ms. */
  ts: number;
}

export interface ReturnAllocation {
  /** Per purchase (by index): the units returns take off it (0..quantity). */
  taken: Int32Array;
  /** Per return (by index): the units no purchase it may return was left to take (0 when it is matched whole). */
  unmatched: Int32Array;
}

const pairKey = (userId: string, itemId: string) => `${userId}\u0000${itemId}`;

/** Allocates `returns` to `purchases` by the rule above; neither list needs to be sorted. */
export function allocateReturns(purchases: readonly PurchaseLine[], returns: readonly ReturnLine[]): ReturnAllocation {
  const taken = new Int32Array(purchases.length);
  const unmatched = new Int32Array(returns.length);
  if (returns.length === 0) return { taken, unmatched };
  const wanted = new Set(returns.map((r) => pairKey(r.userId, r.itemId)));
  // Each returned pair's purchases, oldest first (ties in the given order).
  const byPair = new Map<string, number[]>();
  for (let k = 0; k < purchases.length; k++) {
    const key = pairKey(purchases[k].userId, purchases[k].itemId);
    if (!wanted.has(key)) continue;
    let list = byPair.get(key);
    if (!list) byPair.set(key, (list = []));
    list.push(k);
  }
  for (const list of byPair.values()) list.sort((a, b) => purchases[a].ts - purchases[b].ts || a - b);
  const named = (k: number) => (returns[k].orderId != null ? 0 : 1);
  const order = returns.map((_, k) => k).sort((a, b) => named(a) - named(b) || returns[a].ts - returns[b].ts || a - b);
  for (const r of order) {
    const ret = returns[r];
    let left = ret.quantity;
    const list = byPair.get(pairKey(ret.userId, ret.itemId)) ?? [];
    for (let j = list.length - 1; j >= 0 && left > 0; j--) {
      const p = purchases[list[j]];
      if (p.ts > ret.ts) continue;
      if (ret.orderId != null && p.orderId !== ret.orderId) continue;
      const take = Math.min(left, p.quantity - taken[list[j]]);
      if (take <= 0) continue;
      taken[list[j]] += take;
      left -= take;
    }
    unmatched[r] = left;
  }
  return { taken, unmatched };
}

/**
 * The purchases net of the returns, in their order: a fully returned purchase is left out, a partly returned one
 * keeps the units not returned (its price per unit unchanged, so its spend falls with them).
 */
export function netOfReturns<T extends PurchaseLine>(purchases: readonly T[], returns: readonly ReturnLine[]): T[] {
  if (returns.length === 0) return [...purchases];
  const { taken } = allocateReturns(purchases, returns);
  const out: T[] = [];
  for (let k = 0; k < purchases.length; k++) {
    const p = purchases[k];
    if (taken[k] === 0) out.push(p);
    else if (taken[k] < p.quantity) out.push({ ...p, quantity: p.quantity - taken[k] });
  }
  return out;
}
