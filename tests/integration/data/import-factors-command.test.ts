import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFactorArgs } from '../../../src/cli/import-factors.js';
import { runImport } from '../../../src/data/importers/run-import.js';
import type { ImportReport } from '../../../src/data/importers/import-report.js';
import { runCliScript, type CliRun } from '../../helpers/cli-process.js';
import { builtEntry } from '../../helpers/built-entry.js';
import { seedMigratedPgliteDir } from '../../helpers/services.js';

/** Starting a process takes seconds on a busy two-core machine; the CLI runs are given room. */
const SPAWN_TIMEOUT = 240_000;
const dir = mkdtempSync(path.join(tmpdir(), 'import-factors-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `npm run import` as the data team would, on the embedded database and store in a temporary DATA_DIR. */
async function cli(...args: string[]): Promise<CliRun> {
  return cliOn(path.join(dir, 'data'), ...args);
}
async function cliOn(dataDir: string, ...args: string[]): Promise<CliRun> {
  const env = { ...process.env, DATABASE_URL: '', REDIS_URL: '', DATA_DIR: dataDir };
  return runCliScript(builtEntry('src/cli/import-command.ts'), args, { env, timeoutMs: 120_000 });
}

describe('npm run import -- factors', () => {
  it('When the arguments are wrong, Then the message says what is expected', () => {
    expect(() => parseFactorArgs([])).toThrow('missing <dir>');
    expect(() => parseFactorArgs([path.join(dir, 'nope')])).toThrow('does not exist');
    expect(() => parseFactorArgs(['package.json'])).toThrow('is a file: factors are a directory');
    expect(() => parseFactorArgs([dir, '--colour', 'red'])).toThrow('unexpected argument "--colour"');
    expect(() => parseFactorArgs([dir, '--recipe'])).toThrow('--recipe needs a value');
    expect(parseFactorArgs([dir, '--recipe=default', '--source', 'als'])).toEqual({ path: dir, recipe: 'default', source: 'als' });
  });

  it('When a shop is imported and then implicit factors, Then a version is trained around them and the matches are printed; a directory without factors exits 2', async () => {
    const shop = path.join(dir, 'shop');
    mkdirSync(shop);
    const events = ['user_id,item_id,quantity,ts,order_id'];
    for (let u = 0; u < 7; u++) {
      for (const [o, i] of [u % 8, (u + 3) % 8].entries()) events.push(`f-u${u},f-i${i},1,2011-01-${String(3 + o * 7 + u).padStart(2, '0')},f-u${u}-o${o}`);
    }
    writeFileSync(path.join(shop, 'events.csv'), events.join('\n') + '\n');
    // The shop's database as an earlier start and import left it (migrated, its purchases in), written in this
    // process: the first start's initdb and migrations, and the import's own process (import-command.test.ts runs
    // both through the command), would be most of this test's time.
    let imported: ImportReport | undefined;
    await seedMigratedPgliteDir(path.join(dir, 'data', 'pglite'), async (db) => (imported = await runImport({ db }, { format: 'generic', path: shop })));
    expect(imported).toMatchObject({ accepted: 14, inserted: 14, rejected: {} });

    const ok = await cli('factors', 'tests/fixtures/factors/implicit');
    expect(ok.stderr).not.toMatch(/error/);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/ALS source "als" from 4 imported factors/);
    expect(ok.stdout).toMatch(/items\s+9 rows: 8 matched, 1 unknown here \(skipped, e.g. zz-unknown-item\), 0 without a row/);
    // Customer ids are counted, never named (the report is kept where an erasure does not reach).
    expect(ok.stdout).toMatch(/users\s+7 rows: 6 matched, 1 unknown here \(skipped\), 1 without a row/);
    expect(ok.stdout).toMatch(/version\s+v\d{8}T\d{6}Z-/);

    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    // Refused before the embedded database is opened: the DATA_DIR it was given is never created.
    const untouched = path.join(dir, 'untouched');
    const bad = await cliOn(untouched, 'factors', empty);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no item factors: expected item_factors.npy/);
    expect(existsSync(untouched)).toBe(false);
  }, SPAWN_TIMEOUT);
});
