-- A row here while a first start imports the bundled sample (src/bootstrap.ts): set before the import, cleared
-- once the whole sample is stored. The import commits batch by batch, so a first start stopped mid-way (Ctrl-C,
-- a deploy killing the container) leaves part of the sample; the next start, finding the row, imports the
-- sample again (idempotent) before training, rather than taking the part for a shop's data. Kept with the
-- data it speaks of: in the same database, embedded or not.
CREATE TABLE sample_import_pending (
  only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  started_at timestamptz NOT NULL DEFAULT now()
);
