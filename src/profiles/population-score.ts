/**
 * Scores one customer's value against a stored population with the same mid-rank rule as
 * rfm-score.ts, the customer's value joining the population (their old value is removed first):
 *
 *   p = (L + E/2) / N      L = population values below, E = values equal (the customer included), N = population + 1
 *
 * so a profile refreshed between trainings gets the score it would get in the next full computation,
 * as long as nobody else changed. The value must be on the population's scale: a recency measured from a
 * later reference date than the population's is first shifted back by the days between (profile-service.ts).
 */
export interface Population {
  /** Values sorted ascending. */
  sorted: Float64Array;
}

export function populationOf(values: ArrayLike<number>): Population {
  return { sorted: Float64Array.from(values).sort() };
}

/** The population with one occurrence of `value` taken out (an erased customer's); the same when it holds none. */
export function populationWithout(pop: Population, value: number): Population {
  const at = bound(pop.sorted, value, false);
  if (at >= pop.sorted.length || pop.sorted[at] !== value) return pop;
  const sorted = new Float64Array(pop.sorted.length - 1);
  sorted.set(pop.sorted.subarray(0, at));
  sorted.set(pop.sorted.subarray(at + 1), at);
  return { sorted };
}

/** First index whose value is >= x (orEqual false) or > x (orEqual true). */
function bound(a: Float64Array, x: number, orEqual: boolean): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x || (orEqual && a[mid] === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Counts below and equal in the population, minus one occurrence of `previous` when it is given. */
function counts(pop: Population, value: number, previous?: number): { below: number; equal: number; n: number } {
  let below = bound(pop.sorted, value, false);
  let equal = bound(pop.sorted, value, true) - below;
  let n = pop.sorted.length;
  if (previous !== undefined) {
    n -= 1;
    if (previous < value) below -= 1;
    else if (previous === value) equal -= 1;
  }
  return { below, equal: equal + 1, n: n + 1 };
}

/** Mid-rank percentile p in (0, 1) of `value` in the population (with the customer's value in it). */
export function percentileIn(pop: Population, value: number, previous?: number): number {
  const { below, equal, n } = counts(pop, value, previous);
  return (2 * below + equal) / (2 * n);
}

/** Quintile score 1..5: 1 + floor(5p), computed on integers like quintileScores. */
export function scoreIn(pop: Population, value: number, previous?: number): number {
  const { below, equal, n } = counts(pop, value, previous);
  return 1 + Math.floor((5 * (2 * below + equal)) / (2 * n));
}
