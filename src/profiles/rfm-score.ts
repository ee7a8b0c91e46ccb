/**
 * Population-relative scores for RFM. Every value gets its mid-rank percentile (the classic
 * "percentile rank" with ties averaged):
 *
 *   p = (L + E/2) / N      L = values strictly below, E = values equal to it (itself included), N = population
 *
 * and the quintile score is  score = 1 + floor(5 * p), which lies in 1..5 because p < 1 whenever E >= 1.
 * Equal values always share p and therefore the score: ten customers with 2 orders all get the same F.
 * A population of one value (everyone equal) gets p = 0.5, score 3: no information, middle score.
 * With N distinct values the scores split into five equal groups (N = 10 -> 1,1,2,2,3,3,4,4,5,5).
 *
 * The arithmetic is done on the integer numerator 2L + E over the denominator 2N so cut points are exact.
 */

/** For each value, 2L + E (see above); p = result[k] / (2 * values.length). */
export function midRankNumerators(values: ArrayLike<number>): Int32Array {
  const n = values.length;
  const order = new Int32Array(n);
  for (let k = 0; k < n; k++) order[k] = k;
  order.sort((a, b) => values[a] - values[b]);
  const out = new Int32Array(n);
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && values[order[end]] === values[order[start]]) end++;
    // Values order[start..end) are equal: L = start below them, E = end - start of them.
    const numerator = 2 * start + (end - start);
    for (let k = start; k < end; k++) out[order[k]] = numerator;
    start = end;
  }
  return out;
}

/** Mid-rank percentile p in (0, 1) of each value. */
export function midRankPercentiles(values: ArrayLike<number>): Float64Array {
  const num = midRankNumerators(values);
  const out = new Float64Array(num.length);
  for (let k = 0; k < num.length; k++) out[k] = num[k] / (2 * num.length);
  return out;
}

/**
 * Quintile score 1..5 of each value, higher value = higher score. For recency (fewer days is better)
 * pass the negated days, so the most recent customers get 5.
 */
export function quintileScores(values: ArrayLike<number>): Uint8Array {
  const num = midRankNumerators(values);
  const twoN = 2 * num.length;
  const out = new Uint8Array(num.length);
  // 1 + floor(5 * num / 2N), in integers.
  for (let k = 0; k < num.length; k++) out[k] = 1 + Math.floor((5 * num[k]) / twoN);
  return out;
}

/**
 * The F score of a customer with `orders` orders whose mid-rank score among the population is `score`:
 * one order is always F 1, the segment rules' "first purchase" (new, promising), however common it is.
 * By mid-rank alone a shop where 40% or more of the customers ordered once scores them all F 2, and those
 * segments would always be empty. Used by the full computation and by a refreshed profile alike.
 */
export function frequencyScore(orders: number, score: number): number {
  return orders <= 1 ? 1 : score;
}
