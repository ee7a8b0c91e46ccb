import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrap } from '../../../src/bootstrap.js';
import { loadConfig } from '../../../src/config.js';
import type { Db } from '../../../src/data/db.js';
import { pendingSampleImport, sampleImportPending } from '../../../src/data/sample-import-marker.js';
import { createServices } from '../../../src/services.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { createPgliteTestDb, type TestDb } from '../../helpers/services.js';

const HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';

/** A small sample in the Online Retail format: `customers` customers with ids from `firstId`, each buying three products in two orders. */
function sampleFile(dir: string, name: string, firstId: number, customers: number): string {
  const rows = [HEADER];
  for (let c = 0; c < customers; c++) {
    const id = firstId + c;
    for (const [k, code] of ['85123A', '71053', '84406B'].entries()) {
      rows.push(`5${id}${k < 2 ? 1 : 2},${code},PRODUCT ${code},${1 + k},12/${1 + k}/2010 8:26,2.55,${id},United Kingdom`);
    }
  }
  const file = path.join(dir, name);
  writeFileSync(file, `${rows.join('\n')}\n`);
  return file;
}

/**
 * The file a first start's sample import began with, as recorded for the start that completes it: recorded as
 * written (a relative SAMPLE_FILE), a restart from another working directory opened another file or none; and
 * once it could not be read, the service stayed without the sample at every start (only logged) until the
 * database was emptied.
 */
describe('the file of an unfinished first-start sample import', () => {
  const opened: { dispose(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.dispose();
  });

  async function stoppedFirstStart(file: string) {
    const db: TestDb = await createPgliteTestDb();
    const memory = await createMemoryModelStore({});
    opened.push(db, { dispose: () => memory.close() });
    const logged: { level: string; msg: string }[] = [];
    const log = {
      info: (o: unknown, msg?: string) => logged.push({ level: 'info', msg: String(msg ?? o) }),
      warn: (o: unknown, msg?: string) => logged.push({ level: 'warn', msg: String(msg ?? o) }),
      error: (o: unknown, msg?: string) => logged.push({ level: 'error', msg: String(msg ?? o) }),
    } as unknown as Parameters<typeof bootstrap>[1];
    const stopsBeforeDone: Db = {
      ...db.db,
      query: ((sql: string, params?: unknown[]) =>
        /DELETE FROM sample_import_pending\) INSERT INTO sample_untrained/.test(sql) ? Promise.reject(new Error('stopped')) : db.db.query(sql, params)) as Db['query'],
    };
    await bootstrap(createServices({ config: config(file), db: stopsBeforeDone, store: memory }), log);
    expect(await sampleImportPending(db.db)).toBe(true);
    return { db, memory, logged, log };
  }
  const config = (file: string) => loadConfig({ SAMPLE_DATA: 'true', SAMPLE_FILE: file, LOG_LEVEL: 'silent', JOB_RUNNER: 'worker' });
  const buyers = async (db: TestDb) => (await db.db.query<{ user_id: string }>('SELECT DISTINCT user_id FROM purchase_events ORDER BY 1')).rows.map((r) => r.user_id);

  it('When SAMPLE_FILE is relative, Then the import records the file resolved against the start\'s directory, so a restart elsewhere opens the same one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sample-file-relative-'));
    const file = sampleFile(dir, 'first.csv', 12000, 4);
    const relative = path.relative(process.cwd(), file);
    expect(path.isAbsolute(relative)).toBe(false);
    const { db } = await stoppedFirstStart(relative);
    expect(await pendingSampleImport(db.db)).toEqual({ sampleFile: file });
  }, 120_000);

  it('When an older release recorded SAMPLE_FILE relative and the restart names the same file the same way, Then it completes that import without warning that SAMPLE_FILE changed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sample-file-older-relative-'));
    const file = sampleFile(dir, 'first.csv', 12000, 4);
    const relative = path.relative(process.cwd(), file);
    const { db, memory, logged, log } = await stoppedFirstStart(file);
    // What a release before this one recorded: SAMPLE_FILE as written.
    await db.db.query('UPDATE sample_import_pending SET sample_file = $1', [relative]);
    logged.length = 0;
    expect(await bootstrap(createServices({ config: config(relative), db: db.db, store: memory }), log)).toBe(true);
    expect(logged.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
    expect(await sampleImportPending(db.db)).toBe(false);
    expect(await buyers(db)).toEqual(['12000', '12001', '12002', '12003']);
  }, 180_000);

  it('When the file the import began with cannot be read and SAMPLE_FILE names where it is now, Then the restart completes the import from it, warns, and trains the sample', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sample-file-moved-'));
    const first = sampleFile(dir, 'first.csv', 12000, 4);
    const { db, memory, logged, log } = await stoppedFirstStart(first);
    const moved = path.join(dir, 'moved.csv');
    copyFileSync(first, moved);
    rmSync(first);
    logged.length = 0;
    expect(await bootstrap(createServices({ config: config(moved), db: db.db, store: memory }), log)).toBe(true);
    expect(logged.filter((l) => l.level === 'error')).toEqual([]);
    expect(logged.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([expect.stringContaining('cannot be read')]);
    expect(await sampleImportPending(db.db)).toBe(false);
    expect(await buyers(db)).toEqual(['12000', '12001', '12002', '12003']);
    expect(await memory.getActive()).not.toBeNull();
  }, 180_000);

  it('When the file the import began with cannot be read and SAMPLE_FILE names it still, Then the start logs what to do (put it back, point SAMPLE_FILE at it, or an empty database)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sample-file-gone-'));
    const first = sampleFile(dir, 'first.csv', 12000, 4);
    const { db, memory, logged, log } = await stoppedFirstStart(first);
    rmSync(first);
    logged.length = 0;
    await bootstrap(createServices({ config: config(first), db: db.db, store: memory }), log);
    expect(await sampleImportPending(db.db)).toBe(true);
    const errors = logged.filter((l) => l.level === 'error').map((l) => l.msg);
    expect(errors).toContainEqual(expect.stringMatching(/put the file back.*set SAMPLE_FILE to where it is now.*empty database/));
    expect(errors.join('\n')).toContain(first);
  }, 120_000);
});
