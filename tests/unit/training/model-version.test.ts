import { describe, expect, it } from 'vitest';
import { assertVersionName } from '../../../src/store/version-rules.js';
import { newModelVersion } from '../../../src/training/model-version.js';

describe('model version names', () => {
  it('When a version is named at a given time, Then it is v + UTC time to the second + the suffix', () => {
    expect(newModelVersion(new Date('2026-11-22T15:45:00.987Z'), '3f9a')).toBe('v20261122T154500Z-3f9a');
  });

  it('When versions are named, Then they pass the store rules, differ within one second and sort by time as text', () => {
    const at = new Date('2026-11-22T15:45:00Z');
    const names = Array.from({ length: 20 }, () => newModelVersion(at));
    for (const n of names) expect(() => assertVersionName(n)).not.toThrow();
    expect(new Set(names).size).toBeGreaterThan(1);
    expect(newModelVersion(new Date('2026-11-22T15:45:01Z'), '0000') > newModelVersion(at, 'ffff')).toBe(true);
  });
});
