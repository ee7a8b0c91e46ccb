-- Events of an erased customer dated at or before their erasure are refused (a replayed batch, an old file
-- imported again). But a replay can be dated after it: the API takes events up to a day ahead of its clock (a
-- shop sending local time east of UTC without an offset does so all day), and an event sent with an eventId
-- and no ts is dated when it arrives. So an erasure also keeps, for ERASED_EVENT_IDS_DAYS (7), SHA-256 hashes
-- of the ids of the events it deleted, and ingestion refuses an erased customer's event whose id is among
-- them, whatever its date. Ids derived from an event's content include its customer: during those days a
-- guessed event of an erased customer could be confirmed against them; then they are deleted.
CREATE TABLE erased_event_ids (
  id_hash   bytea PRIMARY KEY,
  erased_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX erased_event_ids_erased_at ON erased_event_ids (erased_at);
