-- A row here while the bundled sample a first start imported (src/bootstrap.ts) has not trained yet: set when the
-- sample import is whole (in the statement that clears sample_import_pending), cleared once a version is
-- active. The sample trains with the recipe's written weights (353 customers are too few to tune on), whereas a
-- shop's data that never trained gets a tuned training job: a first start whose model store did not answer, taken
-- up again by another replica on the same database or by the process restarted, must tell the two apart, and
-- only the database outlives the process that imported.
CREATE TABLE sample_untrained (
  only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  imported_at timestamptz NOT NULL DEFAULT now()
);
