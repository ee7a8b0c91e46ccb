-- Evaluation reports: one row per succeeded evaluation job (id = the job's id), kept for comparison
-- across recipes and over time. `headline` (NDCG per strategy at one mode and k) keeps listings cheap
-- without reading the whole report. The documents are json, not jsonb: never queried inside, and
-- json keeps their key order (strategies, modes, fields) as the run wrote it.
CREATE TABLE evaluation_reports (
  id          text PRIMARY KEY,
  created_at  timestamptz NOT NULL DEFAULT now(),
  recipes     text[] NOT NULL,
  request     json NOT NULL,
  headline    json NOT NULL,
  report      json NOT NULL,
  duration_ms double precision
);
CREATE INDEX evaluation_reports_created ON evaluation_reports (created_at DESC, id);
