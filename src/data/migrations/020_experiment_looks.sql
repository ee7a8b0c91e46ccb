-- An A/B test's always-valid p-value (mSPRT) is a running minimum over the looks at the experiment: under no
-- difference the chance that any look falls to alpha is at most alpha, so a look that crossed stays crossed
-- however the later data go. The report (src/serving/online-metrics.ts) computes a look from the feedback it
-- reads; here it keeps, per treatment arm and metric, the smallest any-time p of every look made from the
-- experiment's start and the intersection of their confidence sequences. Aggregates only: no customer.
CREATE TABLE experiment_looks (
  experiment_id text NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  arm           text NOT NULL,
  metric        text NOT NULL CHECK (metric IN ('ctr', 'conversion')),
  anytime_p     double precision NOT NULL,
  anytime_low   double precision NOT NULL,
  anytime_high  double precision NOT NULL,
  looks         integer NOT NULL DEFAULT 1,
  first_look    timestamptz NOT NULL DEFAULT now(),
  last_look     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (experiment_id, arm, metric)
);

-- A report is a look only if its window holds all of the experiment's feedback, which may be dated before the
-- experiment was created (a client's clock, a backend's own times): the report reads each experiment's earliest
-- feedback, one probe of this index. It replaces 005's index on (experiment_id, arm), which no statement uses
-- (the report reads 017's). Built in the migration's transaction: feedback writes wait for it (about 2 s per
-- ten million rows, as 017's).
DROP INDEX IF EXISTS feedback_events_experiment;
CREATE INDEX feedback_events_experiment_first ON feedback_events (experiment_id, ts) WHERE experiment_id IS NOT NULL;
