import type { Dataset } from '../recommenders/dataset.js';
import { PurchaseColumnsBuilder, selectPurchases, type PurchaseColumns } from './purchase-columns.js';
import { catalogOf, purchasesOf, type SplitInput } from './splits.js';

/** 32-bit FNV-1a of a string: a stable, platform-independent customer draw. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * What tuning's sample may hold: at most `customers` customers and, when given, at most `purchases` of
 * their purchases (tune.maxCustomers and tune.maxPurchases).
 */
export interface SampleBounds {
  customers: number;
  purchases?: number;
}

export interface CustomerSample {
  input: SplitInput;
  /** Customers with purchases in the input, and how many of them the sample keeps. */
  customers: number;
  kept: number;
  /** Purchases in the input, and how many of them the sample keeps (the kept customers' all). */
  purchases?: { kept: number; of: number };
  /** Which bound left customers out (absent when none did): the customers' or the purchases'. */
  boundBy?: 'customers' | 'purchases';
  /**
   * When customers were left out: just after the input's latest purchase (ISO), where validation
   * windows must still end (the sample's own latest purchase may be earlier).
   */
  end?: string;
  /**
   * When customers were left out: every customer's purchases (those before `before` when one was given),
   * which tuning's folds fit the population-sensitive sources on (rolling-fold.ts, POPULATION_FITTED),
   * and the ids of the kept customers, the only ones the folds validate.
   */
  population?: SplitInput;
  scored?: string[];
  /**
   * Asked for with `leftOut` (tune.keepOn `left-out`) and drawn when the customers the sample left out are more
   * than the bounds hold: the next customers in the same draw's order, as many as the same bounds allow, disjoint
   * from `scored`. Their purchases are in `population` whole (as the scored customers'), so tuning's folds can
   * validate them too: the keep rule judges the searched blend on them (rolling-tune.ts). Absent otherwise.
   */
  leftOut?: string[];
}

/** What else a sample is drawn with: `leftOut`, a second draw of customers disjoint from the sample (CustomerSample.leftOut). */
export interface SampleOptions {
  leftOut?: boolean;
}

const boundsOf = (max: number | SampleBounds): SampleBounds => (typeof max === 'number' ? { customers: max } : max);

/**
 * Customers with every purchase of theirs (and their attributes), the same ones on every run: those
 * with the smallest hash of their id, as many as `max` allows: at most `max.customers` of them, and
 * only while their purchases together stay within `max.purchases` (the first customer in hash order
 * who would take the total past it ends the draw; one past it alone is passed over). Under both bounds
 * every customer is kept.
 * The sample's own cost stays the same for any shop larger than the bounds; the population the folds fit
 * the population-sensitive sources on grows with the shop up to POPULATION_PURCHASES_PER_SAMPLE_PURCHASE times
 * the purchase bound (the most recent purchases), and stops there. A sampled customer keeps their whole history, so each fold's training and validation purchases stay consistent. The
 * purchase bound keeps a shop of heavy buyers (hundreds of lines each) from tuning on millions of
 * purchases: it tunes on fewer customers, drawn the same way (those the customer bound keeps, in order, but
 * for customers passed over).
 * With `before`, purchases at or after it are left out first (and customers who buy only from then on
 * are not drawn). The sample's purchases are columns (PurchaseColumns) in the input's order: no object
 * per purchase is made.
 */
export function sampleCustomers(input: SplitInput, max: number | SampleBounds, before?: number, options: SampleOptions = {}): CustomerSample {
  const c = purchasesOf(input);
  const inPeriod = new Uint8Array(c.length);
  const perUser = new Uint32Array(c.userIds.length);
  let dropped = 0;
  let latest = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < c.length; i++) {
    if (before !== undefined && !(c.ts[i] < before)) {
      dropped++;
      continue;
    }
    inPeriod[i] = 1;
    latest = Math.max(latest, c.ts[i]);
    perUser[c.user[i]]++;
  }
  const counts = countsOf(c.userIds, perUser);
  const inInput = c.length - dropped;
  const draw = drawCustomers(counts, boundsOf(max));
  if (!draw) {
    const purchases = dropped === 0 ? c : selectPurchases(c, inPeriod);
    return { input: { ...catalogOf(input), purchases }, customers: counts.size, kept: counts.size, purchases: { kept: inInput, of: inInput } };
  }
  const leftOut = options.leftOut ? drawLeftOut(counts, boundsOf(max), draw.keep) : null;
  // The left-out draw's customers are validated too: their histories stay whole in the population, as the sample's.
  const keptUser = Uint8Array.from(c.userIds, (id) => (draw.keep.has(id) ? 1 : leftOut?.has(id) ? 2 : 0));
  const bounded = populationMask(c.length, c.ts, (i) => keptUser[c.user[i]] !== 0, populationCap(boundsOf(max)), inPeriod);
  const population = { ...catalogOf(input), purchases: bounded ? selectPurchases(c, bounded) : dropped === 0 ? c : selectPurchases(c, inPeriod) };
  for (let i = 0; i < c.length; i++) if (inPeriod[i] === 1 && keptUser[c.user[i]] !== 1) inPeriod[i] = 0;
  return {
    input: { purchases: selectPurchases(c, inPeriod), ...(input.items ? { items: input.items } : {}), ...usersOf(input.users, draw.keep) },
    customers: counts.size,
    kept: draw.keep.size,
    purchases: { kept: draw.purchases, of: inInput },
    boundBy: draw.boundBy,
    end: new Date(latest + 1).toISOString(),
    population,
    scored: [...draw.keep],
    ...(leftOut ? { leftOut: [...leftOut] } : {}),
  };
}

/**
 * sampleCustomers of a dataset's purchases (as purchaseRowsOf gives them) with its catalog, without
 * making a row of any purchase: the sampled customers' purchases go straight into columns. At 16x
 * Online Retail the rows of every purchase were a gigabyte of heap held through all of tuning.
 */
export function sampleDatasetCustomers(ds: Dataset, catalog: Pick<SplitInput, 'items' | 'users'>, max: number | SampleBounds, options: SampleOptions = {}): CustomerSample {
  const n = ds.eventUser.length;
  const perUser = new Uint32Array(ds.userIds.length);
  for (let e = 0; e < n; e++) perUser[ds.eventUser[e]]++;
  const counts = countsOf(ds.userIds, perUser);
  const draw = drawCustomers(counts, boundsOf(max));
  const kept = new Uint8Array(ds.userIds.length);
  ds.userIds.forEach((id, u) => perUser[u] > 0 && (!draw || draw.keep.has(id)) && (kept[u] = 1));
  const builder = new PurchaseColumnsBuilder();
  let latest = Number.NEGATIVE_INFINITY;
  for (let e = 0; e < n; e++) {
    latest = Math.max(latest, ds.eventTs[e]);
    if (kept[ds.eventUser[e]] !== 1) continue;
    // The fields purchaseRowOf gives, without the row.
    const price = ds.eventPrice[e];
    builder.add(ds.userIds[ds.eventUser[e]], ds.itemIds[ds.eventItem[e]], `o${ds.eventOrder[e]}`, ds.eventTs[e], ds.eventQuantity[e], Number.isNaN(price) ? null : price);
  }
  const purchases = builder.build();
  if (!draw) return { input: { purchases, ...catalog }, customers: counts.size, kept: counts.size, purchases: { kept: n, of: n } };
  const leftOut = options.leftOut ? drawLeftOut(counts, boundsOf(max), draw.keep) : null;
  if (leftOut) ds.userIds.forEach((id, u) => leftOut.has(id) && (kept[u] = 2));
  return {
    input: { purchases, items: catalog.items, ...usersOf(catalog.users, draw.keep) },
    customers: counts.size,
    kept: draw.keep.size,
    purchases: { kept: draw.purchases, of: n },
    boundBy: draw.boundBy,
    end: new Date(latest + 1).toISOString(),
    population: { purchases: datasetColumns(ds, populationMask(n, ds.eventTs, (e) => kept[ds.eventUser[e]] !== 0, populationCap(boundsOf(max)))), ...catalog },
    scored: [...draw.keep],
    ...(leftOut ? { leftOut: [...leftOut] } : {}),
  };
}

/**
 * Every purchase of a dataset as columns, with the ids and order names sampleDatasetCustomers gives the
 * sample's (`o` and the order's index), the typed arrays copied rather than a row made of any purchase.
 */
function datasetColumns(ds: Dataset, keep: Uint8Array | null = null): PurchaseColumns {
  const all = ds.eventUser.length;
  const events: number[] | null = keep ? [] : null;
  if (keep) for (let e = 0; e < all; e++) if (keep[e] === 1) events!.push(e);
  const n = events ? events.length : all;
  const at = (k: number) => (events ? events[k] : k);
  let orders = 0;
  for (let e = 0; e < all; e++) orders = Math.max(orders, ds.eventOrder[e] + 1);
  const hasPrice = new Uint8Array(n);
  const price = new Float64Array(n);
  const user = new Int32Array(n);
  const item = new Int32Array(n);
  const order = new Int32Array(n);
  const ts = new Float64Array(n);
  const quantity = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const e = at(k);
    const p = ds.eventPrice[e];
    if (!Number.isNaN(p)) {
      hasPrice[k] = 1;
      price[k] = p;
    }
    [user[k], item[k], order[k], ts[k], quantity[k]] = [ds.eventUser[e], ds.eventItem[e], ds.eventOrder[e], ds.eventTs[e], ds.eventQuantity[e]];
  }
  return {
    length: n,
    userIds: [...ds.userIds],
    itemIds: [...ds.itemIds],
    orderIds: Array.from({ length: orders }, (_, o) => `o${o}`),
    user,
    item,
    order,
    ts,
    quantity,
    price,
    hasPrice,
  };
}

/**
 * How many times the sample's purchase bound the population the folds fit on may hold (populationCap). The
 * population-sensitive sources need the whole shop's co-purchases, but every fold thread copies the population
 * and splits it once per fold: unbounded, tuning's memory grew with the shop again (420,000 customers, 2.19M
 * purchases: peak RSS 1.64 -> 2.72 GB). At the default bound (500,000) the population holds up to 5,000,000
 * purchases, the most recent ones: the 420,000-customer shop whole, a shop ten times it its latest quarter or so.
 */
export const POPULATION_PURCHASES_PER_SAMPLE_PURCHASE = 10;

/** The most purchases tuning's population may hold: unbounded without a purchase bound on the sample. */
const populationCap = (bounds: SampleBounds) => (bounds.purchases === undefined ? Number.POSITIVE_INFINITY : bounds.purchases * POPULATION_PURCHASES_PER_SAMPLE_PURCHASE);

/**
 * Which of `n` purchases (times `ts`) the population keeps when it must be cut to `cap` (null when all of them
 * fit): every purchase of a scored customer (`scored`), whose histories the folds validate and must see whole,
 * and of the others the most recent, as many as the cap leaves room for (at the cut's own time, in input
 * order). With `within`, only purchases it marks are counted or kept.
 */
function populationMask(n: number, ts: ArrayLike<number>, scored: (i: number) => boolean, cap: number, within?: Uint8Array): Uint8Array | null {
  let scoredCount = 0;
  let others = 0;
  for (let i = 0; i < n; i++) {
    if (within && within[i] !== 1) continue;
    if (scored(i)) scoredCount++;
    else others++;
  }
  if (scoredCount + others <= cap) return null;
  const room = Math.max(0, cap - scoredCount);
  const times = new Float64Array(others);
  let k = 0;
  for (let i = 0; i < n; i++) if ((!within || within[i] === 1) && !scored(i)) times[k++] = ts[i];
  times.sort();
  const cut = room === 0 ? Number.POSITIVE_INFINITY : times[others - room];
  let atCut = room - (others - (upperBound(times, cut)));
  const keep = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (within && within[i] !== 1) continue;
    if (scored(i) || ts[i] > cut) keep[i] = 1;
    else if (ts[i] === cut && atCut > 0) {
      keep[i] = 1;
      atCut--;
    }
  }
  return keep;
}

/** The index of the first value of the ascending `sorted` above `v`. */
function upperBound(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Purchases per customer, of the customers with any (`perUser` by index of `userIds`). */
function countsOf(userIds: readonly string[], perUser: Uint32Array): Map<string, number> {
  const counts = new Map<string, number>();
  userIds.forEach((id, u) => perUser[u] > 0 && counts.set(id, perUser[u]));
  return counts;
}

/**
 * The customers (of `counts`: purchases per customer) the bounds keep: in order of the hash of their id
 * (ties by id), the longest run that holds at most `customers` of them and at most `purchases` purchases,
 * passing over any customer whose purchases alone are past `purchases`. Null when every customer fits.
 */
function drawCustomers(counts: Map<string, number>, bounds: SampleBounds): { keep: Set<string>; purchases: number; boundBy: 'customers' | 'purchases' } | null {
  const maxPurchases = bounds.purchases ?? Number.POSITIVE_INFINITY;
  let total = 0;
  for (const n of counts.values()) total += n;
  if (counts.size <= bounds.customers && total <= maxPurchases) return null;
  const ranked = [...counts.keys()].map((id) => ({ id, h: fnv1a(id) })).sort((a, b) => a.h - b.h || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const keep = new Set<string>();
  let purchases = 0;
  let passedOver = false;
  for (const { id } of ranked) {
    if (keep.size >= bounds.customers) return { keep, purchases, boundBy: 'customers' };
    const n = counts.get(id)!;
    // A customer past the whole bound alone (a pooled guest id, a wholesaler) is passed over: ending the draw
    // at them would leave tuning nobody, or a sample cut wherever they happen to fall in the order.
    if (n > maxPurchases) {
      passedOver = true;
      continue;
    }
    if (purchases + n > maxPurchases) return { keep, purchases, boundBy: 'purchases' };
    keep.add(id);
    purchases += n;
  }
  // Every customer but those passed over fitted.
  return { keep, purchases, boundBy: passedOver ? 'purchases' : 'customers' };
}

/**
 * The left-out draw (CustomerSample.leftOut): drawCustomers over the customers the sample (`first`) did not keep, by
 * the same bounds and in the same order, so the next customers in it. Null when those customers all fit within the
 * bounds (a shop of fewer than about twice the sample): a second sample as large as the first cannot be drawn, and
 * tuning judges the blend on its sample as before.
 */
function drawLeftOut(counts: Map<string, number>, bounds: SampleBounds, first: ReadonlySet<string>): Set<string> | null {
  const rest = new Map([...counts].filter(([id]) => !first.has(id)));
  return drawCustomers(rest, bounds)?.keep ?? null;
}

const usersOf = (users: SplitInput['users'], keep: Set<string>) => (users ? { users: [...users].filter((u) => keep.has(u.id)) } : {});
