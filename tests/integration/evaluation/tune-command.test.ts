/** npm run tune as a data team runs it: a process on the embedded database (no services needed). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliScript } from '../../helpers/cli-process.js';
import { builtEntry } from '../../helpers/built-entry.js';
import { seedMigratedPgliteDir } from '../../helpers/services.js';

describe('npm run tune on an empty database', () => {
  it('When the database holds no purchases, Then tune says there is nothing to tune on (not "Invalid time value") and exits 1', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'tune-empty-'));
    try {
      // An empty database as any earlier start left it (migrated): initdb and the migrations in the child were most
      // of this test's time, and first starts are tested elsewhere.
      await seedMigratedPgliteDir(path.join(root, 'pglite'));
      const { DATABASE_URL: _d, REDIS_URL: _r, ...env } = process.env;
      const res = await runCliScript(builtEntry('src/cli/tune-command.ts'), [], { env: { ...env, DATA_DIR: root, SAMPLE_DATA: 'false', LOG_LEVEL: 'warn' }, timeoutMs: 120_000 });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('not tuned: no purchases in the database: nothing to tune on');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 150_000);
});

/**
 * `npm run tune -- --online-retail FILE` reads the file by the import's rules, so the flags a data team gives the
 * import for the file are given to tune too: `--delimiter` (it was an unknown option, exit 2, and a file the import
 * needed it for could not be tuned on at all). Tuning stops here at its first check, too few customers in the window,
 * whose count says which rows were read: the two purchases the import stores, not the rows it refuses.
 */
describe('npm run tune on an Online Retail file whose delimiter is told wrong', () => {
  it('When --delimiter is given, Then the file is read with it by the import\'s rules; without it the refusal names the flag', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'tune-delimiter-'));
    try {
      // A `,` file whose last column's name and values hold more `;` than its lines have `,`: told `;` from its first lines.
      const tags = 'tags;a;b;c;d;e;f;g;h;i';
      // Each customer buys before the window and in it (a validation customer needs a history).
      const row = (invoice: string, customer: string, title = 'HEART') =>
        [`${invoice}1,85199A,${title},6,11/2/2010 08:26,2.55,${customer},United Kingdom,${tags}`, `${invoice}2,85199A,${title},6,12/20/2010 08:26,2.55,${customer},United Kingdom,${tags}`];
      const file = path.join(root, 'retail.csv');
      writeFileSync(file, [
        `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country,${tags}`,
        ...row('59400', '96000'),
        ...row('59401', '96001'),
        // Refused by the import (an id over 256 characters, a title over 1,000): not counted.
        ...row('59402', '9'.repeat(257)),
        ...row('59403', '96003', 'H'.repeat(1001)),
      ].join('\n') + '\n');
      const { DATABASE_URL: _d, REDIS_URL: _r, ...env } = process.env;
      const tune = (...flags: string[]) =>
        runCliScript('src/cli/tune-command.ts', ['--online-retail', file, '--end', '2011-01-01', '--folds', '1', '--days', '30', '--out', 'never-written', ...flags], {
          env: { ...env, DATA_DIR: root, DEFAULT_RECIPE: '', LOG_LEVEL: 'warn' },
          timeoutMs: 120_000,
        });
      const told = await tune();
      expect(told.code).toBe(1);
      expect(told.stderr).toMatch(/not an Online Retail file.*Its fields were read as separated by ";" \(told from the file\); if they are separated by ",", give the delimiter: --delimiter "," for npm run tune/);
      const given = await tune('--delimiter', ',');
      expect(given.stderr).toContain('not tuned: validation window 1 of 1 has 2 customers who bought in it');
      expect(given.code).toBe(1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 250_000);
});
