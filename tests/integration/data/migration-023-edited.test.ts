/**
 * Migration 023 landed on main in 721e030 and databases took it then (024 came after it). 45917b8 then added
 * `ALTER TABLE feedback_counted_days ADD COLUMN versioned_at` to the same file: the migration runner records
 * migrations by name, so a database that already took 023 never runs the edit, and every statement of
 * feedback-rollup.ts that names versioned_at fails there ("column versioned_at does not exist"): the online
 * metrics report and the background count break on every database upgraded from 721e030..45917b8^.
 */
import { describe, expect, it } from 'vitest';
import { migrate } from '../../../src/data/migrate.js';
import { uncountedDays } from '../../../src/data/feedback-rollup.js';
import { createUnmigratedPgliteDb } from '../../helpers/services.js';

/** 023_feedback_model_version.sql as it was applied between 721e030 and 45917b8. */
const MIGRATION_023_AT_721E030 = `
ALTER TABLE feedback_events ADD COLUMN model_version text;
ALTER TABLE feedback_daily_counts ADD COLUMN model_version text;`;

describe('a database that took migration 023 before it was edited', () => {
  it('When it is upgraded to this release, Then the feedback counts read their days without an error', async () => {
    const { db, dispose } = await createUnmigratedPgliteDb();
    try {
      await migrate(db, { to: '022_sample_import_pending.sql' });
      await db.exec(MIGRATION_023_AT_721E030);
      await db.query(`INSERT INTO schema_migrations (name) VALUES ('023_feedback_model_version.sql')`);
      await migrate(db, { to: '024_evaluation_report_recipe_names.sql' });
      // Then the rest of this release's migrations, as a replica starting on the new code runs them.
      await migrate(db);
      const day = new Date('2026-01-01T00:00:00Z');
      await expect(uncountedDays(db, day, new Date(day.getTime() + 2 * 86_400_000))).resolves.toHaveLength(2);
    } finally {
      await dispose();
    }
  }, 60_000);
});
