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
