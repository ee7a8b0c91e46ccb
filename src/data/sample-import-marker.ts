import type { Db } from './db.js';

/**
 * The mark a first start sets before importing the bundled sample and clears once it is whole
 * (sample_import_pending): while it is set, the purchases stored are a part of the sample, not a shop's data.
 */
export async function markSampleImportStarted(db: Pick<Db, 'query'>): Promise<void> {
  await db.query('INSERT INTO sample_import_pending DEFAULT VALUES ON CONFLICT DO NOTHING');
}

/** A first start's import that stored nothing (its file could not be read): no sample is under way. */
export async function clearSampleImportStarted(db: Pick<Db, 'query'>): Promise<void> {
  await db.query('DELETE FROM sample_import_pending');
}

export async function sampleImportPending(db: Pick<Db, 'query'>): Promise<boolean> {
  return (await db.query('SELECT 1 FROM sample_import_pending')).rows.length > 0;
}

/**
 * The sample is whole: the import mark goes and the mark "the data is the sample, not trained yet"
 * (sample_untrained) comes, in one statement, so no crash leaves neither.
 */
export async function markSampleImportDone(db: Pick<Db, 'query'>): Promise<void> {
  await db.query(
    'WITH cleared AS (DELETE FROM sample_import_pending) INSERT INTO sample_untrained DEFAULT VALUES ON CONFLICT DO NOTHING',
  );
}

/** The sample a first start imported has not trained yet: whoever holds the first-start lock trains it untuned. */
export async function sampleUntrained(db: Pick<Db, 'query'>): Promise<boolean> {
  return (await db.query('SELECT 1 FROM sample_untrained')).rows.length > 0;
}

/** A version is active (the sample's training, or any after): the data is no longer the sample awaiting its first training. */
export async function markSampleTrained(db: Pick<Db, 'query'>): Promise<void> {
  await db.query('DELETE FROM sample_untrained');
}
