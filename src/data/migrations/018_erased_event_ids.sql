-- Events of an erased customer dated at or before their erasure are refused (a replayed batch, an old file
-- imported again). But a replay can be dated after it: the API takes events up to a day ahead of its clock (a
-- shop sending local time east of UTC without an offset does so all day), and an event sent with an eventId
-- and no ts is dated when it arrives. So an erasure also keeps the ids of the events it deleted, as SHA-256
-- hashes of the id alone (not linked to the customer), and ingestion refuses an erased customer's event whose
-- id is among them, whatever its date.
CREATE TABLE erased_event_ids (
  id_hash bytea PRIMARY KEY
);
