import type { BlendMatrix } from './blend-matrix.js';

/**
 * How one class of users (one history length) sums a candidate's sources under a blend: the matrix columns
 * with a positive weight and those weights, in the order the hybrid sums them. A column left out adds
 * nothing (its term is 0), so two summations with the same entries give the same float32 sum.
 */
export interface Summation {
  cols: Int32Array;
  ws: Float64Array;
}

/** The entries of (cols, ws) with a positive weight, in order. */
export function summationOf(cols: Int32Array, ws: Float64Array): Summation {
  let n = 0;
  for (let t = 0; t < ws.length; t++) if (ws[t] > 0) n++;
  const out = { cols: new Int32Array(n), ws: new Float64Array(n) };
  for (let t = 0, p = 0; t < ws.length; t++) {
    if (!(ws[t] > 0)) continue;
    out.cols[p] = cols[t];
    out.ws[p++] = ws[t];
  }
  return out;
}

/** sum_t w[t] * scores[row + cols[t]], accumulated in float32 as the hybrid sums its parts. */
export function weightedSum(scores: Float32Array, row: number, s: Summation): number {
  const { cols, ws } = s;
  let sum = 0;
  for (let t = 0; t < cols.length; t++) sum = Math.fround(sum + ws[t] * scores[row + cols[t]]);
  return sum;
}

/** True when `a` and `b` hold the same entries in the same order once column `skip` (-1: none) is left out of both. */
function sameWithout(a: Summation, b: Summation, skip: number): boolean {
  let i = 0;
  let k = 0;
  for (;;) {
    while (i < a.cols.length && a.cols[i] === skip) i++;
    while (k < b.cols.length && b.cols[k] === skip) k++;
    if (i === a.cols.length || k === b.cols.length) return i === a.cols.length && k === b.cols.length;
    if (a.cols[i] !== b.cols[k] || a.ws[i] !== b.ws[k]) return false;
    i++;
    k++;
  }
}

/** SAME: the two sum every candidate alike. OTHER: they differ in more than one column. Else the one column they differ in. */
export const SAME = -1;
export const OTHER = -2;

/** How `now` differs from `then`: SAME, the only column whose entry differs, or OTHER. */
export function differingColumn(then: Summation, now: Summation): number {
  if (sameWithout(then, now, SAME)) return SAME;
  for (const col of new Set([...then.cols, ...now.cols])) if (sameWithout(then, now, col)) return col;
  return OTHER;
}

/**
 * The blended sums of a range of cached users' candidates, kept between blends (before the discount). A blend
 * search changes one source's weight at a time, and a candidate that source did not list (its score 0) then
 * sums exactly as under the blend before: its kept sum is read instead of summed again. Each user's sums
 * stay tied to the summation they were made with (one for new items, one for own items), so a user
 * skipped by some blends (no relevant items in the modes scored) never reads sums another blend made.
 * Valid for one matrix and one range of users only.
 */
export class KeptSums {
  readonly sums: Float32Array;
  readonly base: number;
  /** Per user of the range: the summation its new items' sums were made with. */
  readonly newBy: (Summation | undefined)[];
  /** Per user of the range: the summation its own items' sums were made with. */
  readonly ownBy: (Summation | undefined)[];

  constructor(
    readonly matrix: BlendMatrix,
    readonly from: number,
    readonly to: number,
  ) {
    this.base = matrix.indptr[from];
    this.sums = new Float32Array(Math.max(0, matrix.indptr[to] - this.base));
    this.newBy = new Array(Math.max(0, to - from));
    this.ownBy = new Array(Math.max(0, to - from));
  }

  /** This matrix and range's kept sums, made anew when either changed. */
  static of(kept: KeptSums | undefined, matrix: BlendMatrix, from: number, to: number): KeptSums {
    return kept && kept.matrix === matrix && kept.from === from && kept.to === to ? kept : new KeptSums(matrix, from, to);
  }
}
