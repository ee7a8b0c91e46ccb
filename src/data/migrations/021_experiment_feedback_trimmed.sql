-- Feedback retention (FEEDBACK_RETENTION_DAYS) may delete some of an experiment's feedback, even of one created
-- after its cutoff (feedback may be dated before the experiment): the sweep notes the experiment ids whose
-- feedback it deleted, and no report of them is a look from then on (src/serving/online-metrics.ts fromStart).
-- By id, without a reference to experiments: a backend may send feedback naming an experiment before it exists.
CREATE TABLE experiment_feedback_trimmed (
  experiment_id text PRIMARY KEY,
  trimmed_at    timestamptz NOT NULL DEFAULT now()
);
