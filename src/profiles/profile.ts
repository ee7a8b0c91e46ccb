/**
 * Customer profiles from a Dataset: RFM values and scores, basket habits, what they buy, how price-sensitive
 * they are and how often they come back. Pure: one pass over the events with typed-array accumulators,
 * one more (grouped by customer) for terms and categories.
 *
 * Days are whole UTC calendar days: an order's date is floor(ts / 1 day), and "days since" is the
 * difference of dates, so two orders on the same date are 0 days apart whatever their clock times.
 */
import type { Dataset } from '../recommenders/dataset.js';
import { createTopLabels, indexItemLabels, titleTerms, type WeightedLabel } from './profile-terms.js';
import { frequencyScore, quintileScores } from './rfm-score.js';

export const DAY_MS = 86_400_000;

export interface CustomerProfile {
  userId: string;
  /** Days from the last order's date to the reference date (0 = bought on the reference day). */
  recencyDays: number;
  /** Days from the first order's date to the reference date. */
  tenureDays: number;
  /** Distinct orders (baskets); several orders on one day each count. */
  frequency: number;
  /** Sum of quantity x unit price (event price, else the catalog price, else the line adds nothing), rounded to the cent as Postgres rounds it. */
  monetary: number;
  /** Quintile scores 1..5 against all profiled customers (see rfm-score.ts); recency inverted: most recent = 5. */
  rScore: number;
  fScore: number;
  mScore: number;
  /** Units per order: sum of quantities / frequency. */
  avgBasketSize: number;
  /** Purchase lines (events) per order. */
  avgBasketLines: number;
  /** monetary / frequency. */
  avgBasketValue: number;
  /**
   * Mean over the customer's priced purchase lines of  price_paid / item_mean_price, where item_mean_price is
   * the mean unit price of that item over all priced lines of all customers. < 1: pays less than usual for
   * what they buy (bargain hunter, or wholesale tiers); null when no line has a price.
   */
  priceSensitivity: number | null;
  /**
   * Mean days between distinct order dates: (last date - first date) / (distinct dates - 1).
   * Null with a single order date, including several orders all placed on one day: no gap was observed.
   */
  meanIntervalDays: number | null;
  /** ISO timestamps of the first and last purchase events. */
  firstOrder: string;
  lastOrder: string;
  /** Top content terms of purchased titles (stop words dropped), by number of purchase lines. */
  topTerms: WeightedLabel[];
  /** Top categories of purchased items, by number of purchase lines (empty when items have none). */
  topCategories: WeightedLabel[];
}

export interface ProfileOptions {
  /** Reference time (epoch ms) for recency and tenure; default dataset.now. Events after it give negative days. */
  now?: number;
  /** How many terms / categories to keep per customer; defaults 10 and 5. */
  topTerms?: number;
  topCategories?: number;
}

/**
 * `x` rounded to the cent as Postgres's `round(x::numeric, 2)` rounds a float8 (customer-repository.ts's
 * spend): the cast keeps 15 significant digits, so 2.675 (held as 2.67499999999999982) is 2.675, and the
 * half is rounded up (away from zero: a spend is never negative). Postgres adds a customer's lines in its
 * scan order, this in time order: the sums differ in their last bits at most, which the 15 digits hide but
 * for a spend within those bits of a half cent.
 */
export function roundToCent(x: number): number {
  return Math.round(Number((Number(x.toPrecision(15)) * 100).toPrecision(15))) / 100;
}

/**
 * Profiles every user with at least one purchase event, in user-index order. RFM scores are relative to
 * this population, so profile the whole customer base (or one split of it) at once.
 */
export function computeProfiles(ds: Dataset, options: ProfileOptions = {}): CustomerProfile[] {
  const now = options.now ?? ds.now;
  const nowDay = Math.floor(now / DAY_MS);
  const users = ds.userIds.length;
  const nItems = ds.items.length;
  const nEvents = ds.eventUser.length;
  const { eventUser, eventItem, eventOrder, eventTs, eventQuantity, eventPrice } = ds;

  // Reference price per item: mean of observed unit prices over all priced lines.
  const priceSum = new Float64Array(nItems);
  const priceCount = new Int32Array(nItems);
  const catalogPrice = new Float64Array(nItems);
  for (let i = 0; i < nItems; i++) catalogPrice[i] = ds.items[i].price ?? Number.NaN;
  for (let e = 0; e < nEvents; e++) {
    const p = eventPrice[e];
    if (p === p) {
      priceSum[eventItem[e]] += p;
      priceCount[eventItem[e]]++;
    }
  }

  const frequency = new Int32Array(users);
  const lines = new Int32Array(users);
  const units = new Float64Array(users);
  const money = new Float64Array(users);
  const ratioSum = new Float64Array(users);
  const ratioCount = new Int32Array(users);
  const firstTs = new Float64Array(users).fill(Number.POSITIVE_INFINITY);
  const lastTs = new Float64Array(users).fill(Number.NEGATIVE_INFINITY);
  const dates = new Int32Array(users);
  const lastDate = new Float64Array(users).fill(Number.NEGATIVE_INFINITY);
  const orderSeen = new Uint8Array(ds.orderCount);
  for (let e = 0; e < nEvents; e++) {
    const u = eventUser[e];
    const i = eventItem[e];
    const ts = eventTs[e];
    // Orders belong to one user (buildDataset keys them per user), so a global seen flag counts per user.
    if (orderSeen[eventOrder[e]] === 0) {
      orderSeen[eventOrder[e]] = 1;
      frequency[u]++;
    }
    lines[u]++;
    units[u] += eventQuantity[e];
    const paid = eventPrice[e];
    const price = paid === paid ? paid : catalogPrice[i];
    // As Postgres sums quantity * price (float8): unrounded, in 64 bits; rounded to the cent below.
    if (price === price) money[u] += eventQuantity[e] * price;
    if (paid === paid && priceCount[i] > 0 && priceSum[i] > 0) {
      ratioSum[u] += paid / (priceSum[i] / priceCount[i]);
      ratioCount[u]++;
    }
    if (ts < firstTs[u]) firstTs[u] = ts;
    if (ts > lastTs[u]) lastTs[u] = ts;
    // Events are sorted by ts, so a customer's dates arrive in order: a new date is a larger one.
    const date = Math.floor(ts / DAY_MS);
    if (date > lastDate[u]) {
      lastDate[u] = date;
      dates[u]++;
    }
  }

  const profiled: number[] = [];
  for (let u = 0; u < users; u++) if (lines[u] > 0) profiled.push(u);
  // Spend in cents: equal spends must share their score and tier however the basket was split into lines.
  for (const u of profiled) money[u] = roundToCent(money[u]);
  const recency = profiled.map((u) => nowDay - Math.floor(lastTs[u] / DAY_MS));
  const rScores = quintileScores(recency.map((d) => -d));
  const fScores = quintileScores(profiled.map((u) => frequency[u])).map((f, k) => frequencyScore(frequency[profiled[k]], f));
  const mScores = quintileScores(profiled.map((u) => money[u]));

  // Group events by user (counting sort, stable so each user's events stay in time order).
  const start = new Int32Array(users + 1);
  for (let e = 0; e < nEvents; e++) start[eventUser[e] + 1]++;
  for (let u = 0; u < users; u++) start[u + 1] += start[u];
  const byUser = new Int32Array(nEvents);
  const fill = start.slice(0, users);
  for (let e = 0; e < nEvents; e++) byUser[fill[eventUser[e]]++] = e;
  const topTerms = createTopLabels(indexItemLabels(ds, (item) => titleTerms(item.title)));
  const topCategories = createTopLabels(indexItemLabels(ds, (item) => item.categories));
  const kTerms = options.topTerms ?? 10;
  const kCategories = options.topCategories ?? 5;

  return profiled.map((u, k) => {
    const firstDate = Math.floor(firstTs[u] / DAY_MS);
    return {
      userId: ds.userIds[u],
      recencyDays: recency[k],
      tenureDays: nowDay - firstDate,
      frequency: frequency[u],
      monetary: money[u],
      rScore: rScores[k],
      fScore: fScores[k],
      mScore: mScores[k],
      avgBasketSize: units[u] / frequency[u],
      avgBasketLines: lines[u] / frequency[u],
      avgBasketValue: money[u] / frequency[u],
      priceSensitivity: ratioCount[u] > 0 ? ratioSum[u] / ratioCount[u] : null,
      meanIntervalDays: dates[u] > 1 ? (lastDate[u] - firstDate) / (dates[u] - 1) : null,
      firstOrder: new Date(firstTs[u]).toISOString(),
      lastOrder: new Date(lastTs[u]).toISOString(),
      topTerms: topTerms(byUser, eventItem, start[u], start[u + 1], kTerms),
      topCategories: topCategories(byUser, eventItem, start[u], start[u + 1], kCategories),
    };
  });
}
