import type { Db } from './db.js';

/**
 * The mark a first start sets before importing the bundled sample and clears once it is whole
 * (sample_import_pending): while it is set, the purchases stored are a part of the sample, not a shop's data.
 */
export async function markSampleImportStarted(db: Pick<Db, 'query'>): Promise<void> {
  await db.query('INSERT INTO sample_import_pending DEFAULT VALUES ON CONFLICT DO NOTHING');
}

export async function sampleImportPending(db: Pick<Db, 'query'>): Promise<boolean> {
  return (await db.query('SELECT 1 FROM sample_import_pending')).rows.length > 0;
}

export async function markSampleImportDone(db: Pick<Db, 'query'>): Promise<void> {
  await db.query('DELETE FROM sample_import_pending');
}
