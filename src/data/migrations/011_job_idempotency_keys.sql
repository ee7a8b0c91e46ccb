-- A client that submits a job again after an answer it did not get (a 503 while Postgres was frozen, a
-- timeout) names the submission with an Idempotency-Key: the same key finds the job the first attempt
-- queued instead of queuing another. NULLs are distinct: jobs without a key are not affected.
ALTER TABLE jobs ADD COLUMN idempotency_key text;
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (idempotency_key);
