import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrap } from '../../../src/bootstrap.js';
import { loadConfig } from '../../../src/config.js';
import type { Db } from '../../../src/data/db.js';
import { sampleImportPending } from '../../../src/data/sample-import-marker.js';
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
 * A first start stopped during its sample import, restarted with another SAMPLE_FILE (the operator noticed the
 * wrong file and mended the setting): the restart took the stored part for a part of the sample it was now
 * configured with and imported that file on top, leaving a mix of two samples that trained for good.
 * The restart completes the file the import began with (its rows are stored in part; starting the new one clean
 * would mean deleting rows that a shop may have written meanwhile), and says so in the log.
 */
describe('a first start stopped during the sample import, restarted with another SAMPLE_FILE', () => {
  const opened: { dispose(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.dispose();
  });

  it('When the restart finds the import unfinished, Then it completes the file it began with, warns, and none of the new file is mixed in', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sample-file-changed-'));
    const first = sampleFile(dir, 'first.csv', 12000, 4);
    const second = sampleFile(dir, 'second.csv', 17000, 3);
    const db: TestDb = await createPgliteTestDb();
    const memory = await createMemoryModelStore({});
    opened.push(db, { dispose: () => memory.close() });
    const logged: { level: string; msg: string }[] = [];
    const log = {
      info: (o: unknown, msg?: string) => logged.push({ level: 'info', msg: String(msg ?? o) }),
      warn: (o: unknown, msg?: string) => logged.push({ level: 'warn', msg: String(msg ?? o) }),
      error: (o: unknown, msg?: string) => logged.push({ level: 'error', msg: String(msg ?? o) }),
    } as unknown as Parameters<typeof bootstrap>[1];
    const config = (file: string) => loadConfig({ SAMPLE_DATA: 'true', SAMPLE_FILE: file, LOG_LEVEL: 'silent', JOB_RUNNER: 'worker' });

    // The first start stores the first file's rows and is stopped before it marks the import whole.
    const STOPPED = 'the first start was stopped here';
    const stopsBeforeDone: Db = {
      ...db.db,
      query: ((sql: string, params?: unknown[]) =>
        /DELETE FROM sample_import_pending\) INSERT INTO sample_untrained/.test(sql) ? Promise.reject(new Error(STOPPED)) : db.db.query(sql, params)) as Db['query'],
    };
    const stopped = createServices({ config: config(first), db: stopsBeforeDone, store: memory });
    await bootstrap(stopped, log);
    expect(logged.some((l) => l.msg.includes(STOPPED) || l.level === 'error')).toBe(true);
    expect(await sampleImportPending(db.db)).toBe(true);
    const buyers = async () => (await db.db.query<{ user_id: string }>('SELECT DISTINCT user_id FROM purchase_events ORDER BY 1')).rows.map((r) => r.user_id);
    expect(await buyers()).toEqual(['12000', '12001', '12002', '12003']);

    logged.length = 0;
    const restarted = createServices({ config: config(second), db: db.db, store: memory });
    expect(await bootstrap(restarted, log)).toBe(true);
    expect(await buyers()).toEqual(['12000', '12001', '12002', '12003']);
    expect(await sampleImportPending(db.db)).toBe(false);
    const warned = logged.filter((l) => l.level === 'warn').map((l) => l.msg);
    expect(warned).toEqual([expect.stringContaining('SAMPLE_FILE changed')]);
    expect(warned[0]).toContain(first);
    expect(warned[0]).toContain(second);
    // The sample is whole and trains as the sample does (untuned), now that the store takes the version.
    expect(await memory.getActive()).not.toBeNull();
  }, 180_000);
  it('When a mark an older release set (no file) is taken up and stopped again, Then it records the file imported on top, and a later SAMPLE_FILE is not mixed in', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sample-file-old-mark-'));
    const first = sampleFile(dir, 'first.csv', 12000, 4);
    const second = sampleFile(dir, 'second.csv', 17000, 3);
    const db: TestDb = await createPgliteTestDb();
    const memory = await createMemoryModelStore({});
    opened.push(db, { dispose: () => memory.close() });
    const log = { info: () => {}, warn: () => {}, error: () => {} } as unknown as Parameters<typeof bootstrap>[1];
    const config = (file: string) => loadConfig({ SAMPLE_DATA: 'true', SAMPLE_FILE: file, LOG_LEVEL: 'silent', JOB_RUNNER: 'worker' });
    const stopsBeforeDone: Db = {
      ...db.db,
      query: ((sql: string, params?: unknown[]) =>
        /DELETE FROM sample_import_pending\) INSERT INTO sample_untrained/.test(sql) ? Promise.reject(new Error('stopped')) : db.db.query(sql, params)) as Db['query'],
    };
    const buyers = async () => (await db.db.query<{ user_id: string }>('SELECT DISTINCT user_id FROM purchase_events ORDER BY 1')).rows.map((r) => r.user_id);

    // An older release's first start on the first file, stopped during its import: its mark names no file.
    await bootstrap(createServices({ config: config(first), db: stopsBeforeDone, store: memory }), log);
    await db.db.query('UPDATE sample_import_pending SET sample_file = NULL');
    // This release takes it up with the first file configured (the only one it can go by) and is stopped again.
    await bootstrap(createServices({ config: config(first), db: stopsBeforeDone, store: memory }), log);
    expect(await sampleImportPending(db.db)).toBe(true);
    expect(await buyers()).toEqual(['12000', '12001', '12002', '12003']);

    // The rows stored are the first file's now: a restart with another SAMPLE_FILE completes that one.
    expect(await bootstrap(createServices({ config: config(second), db: db.db, store: memory }), log)).toBe(true);
    expect(await buyers()).toEqual(['12000', '12001', '12002', '12003']);
    expect(await sampleImportPending(db.db)).toBe(false);
  }, 240_000);
});
