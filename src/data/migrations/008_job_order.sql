-- Jobs submitted within one clock tick (the embedded database's clock counts milliseconds) had no order
-- between them: the lists' "newest first" and the queue's "oldest first" fell back to the random id. A
-- sequence number records the order they were submitted in.
ALTER TABLE jobs ADD COLUMN seq bigserial;
CREATE INDEX jobs_type_seq ON jobs (type, seq);
