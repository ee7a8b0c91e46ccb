-- The durable copy of each model version a training publishes (src/training/model-copies.ts), from which a model
-- store that came back empty (a Redis restarted without persistence) is put back without a retraining. One row per
-- version: `meta` (the version's metadata) is written once every chunk is, so a copy without it is not whole and is
-- never restored; `activated_at`, when the version was last made active (a training's publish, a rollback, a
-- restore): the copy restored is the one activated last, and only when it is whole. `restoring_*`: the lease of the
-- one process that puts it back (several replicas notice at once).
CREATE TABLE model_copies (
  version          text PRIMARY KEY,
  meta             jsonb,
  chunks           integer NOT NULL DEFAULT 0,
  bytes            bigint NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz,
  activated_at     timestamptz,
  restoring_by     text,
  restoring_until  timestamptz
);
CREATE INDEX model_copies_activated_at ON model_copies (activated_at);

-- The copy's bytes (model-copy-codec.ts), in chunks of at most 4 MiB. EXTERNAL: stored out of line uncompressed;
-- model data (float factors, encoded lists) compresses little, and pglz over hundreds of MB costs the training time.
CREATE TABLE model_copy_chunks (
  version text NOT NULL REFERENCES model_copies (version) ON DELETE CASCADE,
  seq     integer NOT NULL,
  bytes   bytea NOT NULL,
  PRIMARY KEY (version, seq)
);
ALTER TABLE model_copy_chunks ALTER COLUMN bytes SET STORAGE EXTERNAL;
