-- Erased users (DELETE /v1/users/:id): the durable list every model version is checked against.
-- Erasure deletes the user's rows and records the id here in one transaction; the model store is then
-- scrubbed. `seq` orders erasures without trusting clocks: a training notes the highest seq before it
-- reads the data, and afterwards (and on every activation of its version) scrubs every user erased
-- with a higher seq, so an erasure during a training, or one whose store scrub failed, is never served.
-- A user id ingested again after its erasure is a new customer: new rows, trained like anyone else.
CREATE TABLE erased_users (
  user_id   text PRIMARY KEY,
  erased_at timestamptz NOT NULL DEFAULT now(),
  seq       bigserial NOT NULL
);
CREATE INDEX erased_users_seq ON erased_users (seq);
