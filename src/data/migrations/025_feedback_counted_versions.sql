-- The day's `changes` when it was last counted by code that keeps model versions (migration 023,
-- src/data/feedback-rollup.ts): a day counted (again) by a replica of the release before 023, which leaves
-- its versions out, does not match it and is counted again. Null: never so counted (every day counted
-- before this migration, once). IF NOT EXISTS: a development database may have it from an earlier 023.
ALTER TABLE feedback_counted_days ADD COLUMN IF NOT EXISTS versioned_at bigint;
