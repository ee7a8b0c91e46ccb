-- Who holds the lease on an erasure owed (erasure_requests.next_at, migration 036): the process that asked or took it
-- and which of its asks or claims, `<process token>:<number>` (src/privacy/user-erasure.ts). Without it, a process
-- whose lease ran out under it (renewals missed for a whole lease: a Postgres stall, a paused process) renewed and ran
-- an erasure another process had taken meanwhile, after the other completed it: a customer who came back in between
-- lost what they did since. The holder's renewal, its note of a failed try and its turn act on its own rows only
-- (erasure-repository.ts, event-repository deleteUsers); a row gone or held by another is left to the other.
-- NULL: asked by a release before this one, or noted as failed (nobody holds it; due after its back-off).
ALTER TABLE erasure_requests ADD COLUMN holder text;

-- A release before this one (during a rolling upgrade) takes an erasure without naming itself: its claim and its note
-- of a failed try set last_tried_at and leave the holder. The holder is cleared then, so the process named there
-- (of this release, whose lease ran out) finds the erasure no longer its own. This release's claims name a new holder
-- each time (a failure note clears it), and its renewals do not set last_tried_at: the trigger is not even called.
CREATE FUNCTION erasure_requests_taken() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.holder := NULL;
  RETURN NEW;
END
$$;
CREATE TRIGGER erasure_requests_taken BEFORE UPDATE OF last_tried_at ON erasure_requests
  FOR EACH ROW WHEN (NEW.holder IS NOT NULL AND NEW.holder IS NOT DISTINCT FROM OLD.holder)
  EXECUTE FUNCTION erasure_requests_taken();
