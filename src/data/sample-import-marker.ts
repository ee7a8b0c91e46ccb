import type { Db } from './db.js';

/**
 * The mark a first start sets before importing the bundled sample and clears once it is whole
 * (sample_import_pending): while it is set, the purchases stored are a part of the sample, not a shop's data.
 * `sampleFile`: SAMPLE_FILE's value resolved against the working directory (so a restart from another directory
 * opens the same file), '' for the bundled sample (migration 035).
 */
export async function markSampleImportStarted(db: Pick<Db, 'query'>, sampleFile: string): Promise<void> {
  // A mark already set (an import taken up again) keeps the file it began with. One an older release set names
  // none, and the configured file is imported on top of its rows: that one is recorded, so a later change of
  // SAMPLE_FILE is not imported on top as well.
  await db.query(
    'INSERT INTO sample_import_pending (sample_file) VALUES ($1) ON CONFLICT (only_row) DO UPDATE SET sample_file = coalesce(sample_import_pending.sample_file, EXCLUDED.sample_file)',
    [sampleFile],
  );
}

/**
 * The unfinished import is completed from `sampleFile` instead of the file it began with (which cannot be read
 * any more: SAMPLE_FILE names where it is now), so a later start goes on from that one.
 */
export async function moveSampleImport(db: Pick<Db, 'query'>, sampleFile: string): Promise<void> {
  await db.query('UPDATE sample_import_pending SET sample_file = $1', [sampleFile]);
}

/** A first start's import that stored nothing (its file could not be read): no sample is under way. */
export async function clearSampleImportStarted(db: Pick<Db, 'query'>): Promise<void> {
  await db.query('DELETE FROM sample_import_pending');
}

export async function sampleImportPending(db: Pick<Db, 'query'>): Promise<boolean> {
  return (await pendingSampleImport(db)) !== null;
}

/**
 * The unfinished sample import, with the file it began with (as markSampleImportStarted took it; null on a mark
 * of a release that did not record it), or null when none is under way.
 */
export async function pendingSampleImport(db: Pick<Db, 'query'>): Promise<{ sampleFile: string | null } | null> {
  const { rows } = await db.query<{ sample_file: string | null }>('SELECT sample_file FROM sample_import_pending');
  return rows.length > 0 ? { sampleFile: rows[0].sample_file } : null;
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
