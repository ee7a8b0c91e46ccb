import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileTimes, listSource, slowFiles } from '../../run-order/write-slow-files.js';

describe('writing the slow-files list from a run', () => {
  it('When read from vitest\'s results cache, Then each file has its time by repository path, whichever project ran it', () => {
    const cache = {
      version: '4.1.12',
      results: [
        ['shared:tests/e2e/a.test.ts', { duration: 30_000, failed: false }],
        ['isolated:tests/integration/faults/b.test.ts', { duration: 12_000, failed: false }],
      ],
    };
    expect(fileTimes(cache)).toEqual(new Map([['tests/e2e/a.test.ts', 30_000], ['tests/integration/faults/b.test.ts', 12_000]]));
  });

  it('When read from a JSON report, Then a file\'s time is its first test\'s start to its last one\'s end, named from tests/ on', () => {
    const report = { testResults: [{ name: '/somewhere/checkout/tests/unit/c.test.ts', startTime: 1_000, endTime: 4_500 }] };
    expect(fileTimes(report)).toEqual(new Map([['tests/unit/c.test.ts', 3_500]]));
    expect(() => fileTimes({ files: [] })).toThrow(/neither/);
  });

  it('When files are chosen, Then those of at least the share of one worker\'s part are listed longest first, and gone files are not', () => {
    const times = new Map([
      ['tests/quick.test.ts', 400],
      ['tests/gone.test.ts', 50_000],
      ['tests/mid.test.ts', 1_000],
      ['tests/long.test.ts', 60_000],
      ['tests/other.test.ts', 38_000],
    ]);
    // Of the files that exist, 99.4 s in all, 49.7 s per worker of two: a 1% share is 0.497 s.
    const listed = slowFiles(times, 0.01, (file) => file !== 'tests/gone.test.ts');
    expect(listed).toEqual([['tests/long.test.ts', 60_000], ['tests/other.test.ts', 38_000], ['tests/mid.test.ts', 1_000]]);
    // All existing, 74.7 s per worker: 20% is 14.94 s.
    expect(slowFiles(times, 0.2, () => true).map(([file]) => file)).toEqual(['tests/long.test.ts', 'tests/gone.test.ts', 'tests/other.test.ts']);
  });

  it('When the list is written, Then it is a module whose SLOW_FILES is the chosen files in their order', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'slow-files-'));
    try {
      const file = path.join(dir, 'slow-files.ts');
      writeFileSync(file, listSource([['tests/long.test.ts', 98_100], ['tests/it\'s.test.ts', 1_000]], 0.01, 'a test run'));
      const { SLOW_FILES } = (await import(file)) as { SLOW_FILES: string[] };
      expect(SLOW_FILES).toEqual(['tests/long.test.ts', 'tests/it\'s.test.ts']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
