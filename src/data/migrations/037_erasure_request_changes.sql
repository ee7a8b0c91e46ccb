-- What changed in erasure_requests (migration 036), so that each process's read of the erasures owed (every
-- ERASURE_REFRESH_MS: src/privacy/erasure-follower.ts) reads only the changes since its last read, not every id owed.
-- `write_xid`: the transaction that inserted the row (pg_current_xact_id(); an update of a row still owed keeps it).
-- erasure_requests_settled: the ids whose row was deleted (the erasure completed, or an operator removed it), with the
-- deleting transaction, written by the trigger below whoever deletes (a TRUNCATE too). A read takes the rows and the
-- settled ids written by the transactions its last read's snapshot (pg_current_snapshot()) did not see. Settled ids
-- are kept a day (each deletion drops those older): a process whose last read is older than an hour reads every id
-- owed again (src/data/erasure-repository.ts owedSince). Keeps the bare id, as erased_users.
ALTER TABLE erasure_requests ADD COLUMN write_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX erasure_requests_write_xid ON erasure_requests (write_xid);

CREATE TABLE erasure_requests_settled (
  user_id    text NOT NULL,
  write_xid  xid8 NOT NULL DEFAULT pg_current_xact_id(),
  settled_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX erasure_requests_settled_write_xid ON erasure_requests_settled (write_xid);
CREATE INDEX erasure_requests_settled_at ON erasure_requests_settled (settled_at);

CREATE FUNCTION erasure_requests_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM erasure_requests_settled WHERE settled_at < now() - interval '1 day';
  INSERT INTO erasure_requests_settled (user_id) SELECT user_id FROM gone;
  RETURN NULL;
END
$$;
CREATE TRIGGER erasure_requests_deleted AFTER DELETE ON erasure_requests REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION erasure_requests_deleted();

CREATE FUNCTION erasure_requests_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO erasure_requests_settled (user_id) SELECT user_id FROM erasure_requests;
  RETURN NULL;
END
$$;
CREATE TRIGGER erasure_requests_truncated BEFORE TRUNCATE ON erasure_requests
  FOR EACH STATEMENT EXECUTE FUNCTION erasure_requests_truncated();
