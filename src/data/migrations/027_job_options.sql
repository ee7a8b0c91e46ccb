-- Options of a job that a replica of the release before does not know, kept beside its params (an export's
-- `bom`, for one). Not keys of `params`: that release reads each job type's params with a strict schema, so
-- during a rolling upgrade its replicas and workers failed any job whose params carried a key they did not know
-- ("Unrecognized key: bom"), as they did import jobs' roots (026). A column they never select is ignored, and
-- such a job runs there without the option (an export's file without the byte-order mark). Null when none.
ALTER TABLE jobs ADD COLUMN options jsonb;
