import { randomBytes } from 'node:crypto';

/**
 * A new model version name: `v` + UTC time to the second + 4 random hex digits, e.g.
 * `v20261122T154500Z-3f9a`. Sorts by time as text, and two trainings in the same second still differ.
 */
export function newModelVersion(now = new Date(), suffix = randomBytes(2).toString('hex')): string {
  const stamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  return `v${stamp}-${suffix}`;
}
