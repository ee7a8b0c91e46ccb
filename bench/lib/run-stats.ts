import { loadavg } from 'node:os';

/** The machine's 1-, 5- and 15-minute load averages, as a bench prints them beside its numbers. */
export const loadAverage = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');

/** The q-quantile of xs (nearest rank, lower side): quantile(xs, 0.5) is the median a bench reports. */
export const quantile = (xs: readonly number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
