-- A/B experiments (POST /v1/experiments): arms are strategies with traffic shares. At most one
-- experiment is active at a time (the partial unique index), so a request has one arm or none.
-- Stopped experiments are kept: their results stay readable in GET /v1/metrics/online.
CREATE TABLE experiments (
  id         text PRIMARY KEY,
  arms       jsonb NOT NULL,
  active     boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  stopped_at timestamptz
);
CREATE UNIQUE INDEX experiments_one_active ON experiments ((true)) WHERE active;

-- Feedback on an answer an experiment's arm gave: the storefront echoes the response's
-- `experiment: { id, arm }` back with its feedback, so results are counted per arm.
ALTER TABLE feedback_events ADD COLUMN experiment_id text, ADD COLUMN arm text;
CREATE INDEX feedback_events_experiment ON feedback_events (experiment_id, arm) WHERE experiment_id IS NOT NULL;
