import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * tests/fixtures/SOURCE.txt says where each fixture comes from and which script or test writes or reads it: a
 * reader follows those paths to check or rewrite a fixture, so every path it names must exist.
 */
describe('tests/fixtures/SOURCE.txt', () => {
  const text = readFileSync('tests/fixtures/SOURCE.txt', 'utf8');
  const paths = [...new Set([...text.matchAll(/\b(?:src|tests|bench)\/[\w./-]*\w/g)].map((m) => m[0]))];

  it('names files of the repository', () => {
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.filter((p) => !existsSync(p))).toEqual([]);
  });
});
