-- The model version of the list a feedback event is about, read from the signed recommendationId it names
-- (src/serving/recommendation-token.ts); null without one (an older UUID, an id the service did not sign,
-- a list answered before a first training). GET /v1/metrics/online reports CTR and conversion per model
-- version, so operations can compare a version with the one before it and roll back on numbers.
-- Feedback stored before this migration has none. Feedback stored by a replica still on the release before
-- it (a rolling upgrade) has none either, though its signed id names a version: it counts under null.
ALTER TABLE feedback_events ADD COLUMN model_version text;
ALTER TABLE feedback_daily_counts ADD COLUMN model_version text;
