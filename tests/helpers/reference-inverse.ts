/** Gauss-Jordan with partial pivoting on a copy: an independent reference inverse. */
export function gaussJordanInverse(a: Float64Array, n: number): Float64Array {
  const m = Array.from({ length: n }, (_, i) => [...a.subarray(i * n, i * n + n), ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    const pivot = m[c][c];
    for (let j = 0; j < 2 * n; j++) m[c][j] /= pivot;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c];
      for (let j = 0; j < 2 * n; j++) m[r][j] -= f * m[c][j];
    }
  }
  return Float64Array.from(m.flatMap((rowValues) => rowValues.slice(n)));
}
