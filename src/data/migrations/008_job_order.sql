-- Jobs submitted within one clock tick (the embedded database's clock counts milliseconds) had no order
-- between them: the lists' "newest first" and the queue's "oldest first" fell back to the random id. A
-- sequence number records the order they were submitted in.
ALTER TABLE jobs ADD COLUMN seq bigserial;
-- Adding the column numbered the jobs already stored in the order their rows lie on disk, which every update
-- changes: number them by creation instead, and go on after the last.
UPDATE jobs j SET seq = o.n FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM jobs) o WHERE j.id = o.id;
SELECT setval(pg_get_serial_sequence('jobs', 'seq'), coalesce(max(seq), 0) + 1, false) FROM jobs;
CREATE INDEX jobs_type_seq ON jobs (type, seq);
