-- Erasures asked for (DELETE /v1/users/:id) and not recorded in erased_users yet: written (committed) before the
-- erasure's scrub starts, deleted in the transaction that records the erasure in erased_users. A row left here is
-- an erasure the service owes: one that failed (the model store did not answer, a close cut it short, the process
-- died) is driven again by the service (src/privacy/erasure-redriver.ts) without the caller sending it again, and
-- meanwhile a training does not learn the customer (src/training/train-model.ts). Keeps the bare id, as erased_users.
-- `next_at`: when the re-driver may take it; a process that takes it (or asks it) moves it a lease ahead first, so
-- two processes do not drive one erasure; a failure moves it a back-off ahead. `attempts`: the tries that failed.
CREATE TABLE erasure_requests (
  user_id    text PRIMARY KEY,
  asked_at   timestamptz NOT NULL DEFAULT now(),
  next_at    timestamptz NOT NULL DEFAULT now(),
  attempts   integer NOT NULL DEFAULT 0,
  last_error text,
  last_tried_at timestamptz
);
CREATE INDEX erasure_requests_next_at ON erasure_requests (next_at);
