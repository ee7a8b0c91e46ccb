import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { slowFilesFirst } from '../../run-order/slow-files-first.js';
import { SLOW_FILES } from '../../run-order/slow-files.js';

const root = path.resolve('.');
const spec = (file: string) => ({ moduleId: path.join(root, file) });

describe('slow files first', () => {
  it('When files are ordered, Then the listed ones come first in the list\'s order and the rest keep the order they had', () => {
    // The unlisted files in an order that is neither by name nor by path length, so only keeping theirs passes.
    const given = ['tests/c.test.ts', 'tests/slow-2.test.ts', 'tests/unit/a.test.ts', 'tests/slow-1.test.ts', 'tests/b.test.ts'].map(spec);
    const ordered = slowFilesFirst(given, root, ['tests/slow-1.test.ts', 'tests/gone.test.ts', 'tests/slow-2.test.ts']);
    expect(ordered.map((s) => path.relative(root, s.moduleId))).toEqual(['tests/slow-1.test.ts', 'tests/slow-2.test.ts', 'tests/c.test.ts', 'tests/unit/a.test.ts', 'tests/b.test.ts']);
    // The files given are left as they were.
    expect(given.map((s) => path.relative(root, s.moduleId))).toEqual(['tests/c.test.ts', 'tests/slow-2.test.ts', 'tests/unit/a.test.ts', 'tests/slow-1.test.ts', 'tests/b.test.ts']);
  });

  it('When the list names a file, Then it is a test file of this checkout, named once (a renamed file would drop out of the order unseen)', () => {
    expect(SLOW_FILES.length).toBeGreaterThan(0);
    expect(new Set(SLOW_FILES).size).toBe(SLOW_FILES.length);
    for (const file of SLOW_FILES) {
      expect(file, file).toMatch(/^tests\/.+\.test\.ts$/);
      expect(existsSync(path.join(root, file)), file).toBe(true);
    }
  });
});
