-- The directories an import job (import, factor-import) must read within, links resolved as each file is
-- opened: IMPORT_ROOTS as real paths, set when the job service held the submission to them (the HTTP API);
-- null when it did not (the CLI reads with its own user's rights) and for every job queued before this
-- migration or by a replica of the release before it. A column rather than a key of `params`: that release
-- reads import params with strict schemas, so during a rolling upgrade its replicas and workers failed any job
-- whose params carried a key they did not know ("Unrecognized key: roots"); a column they never select is
-- ignored, and such a job runs there as it did before (the directory checked at submission only).
ALTER TABLE jobs ADD COLUMN import_roots text[];
