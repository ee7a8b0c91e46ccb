-- A client that submits a job again after an answer it did not get (a 503 while Postgres was frozen, a
-- timeout) names the submission with an Idempotency-Key: the same key finds the job the first attempt
-- queued instead of queuing another. The fingerprint (a hash of the job type and the request as sent)
-- tells the same request from another one under the same key. NULLs are distinct: jobs without a key
-- are not affected.
ALTER TABLE jobs ADD COLUMN idempotency_key text, ADD COLUMN request_fingerprint text;
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (idempotency_key);
