-- Events of an erased customer dated at or before their erasure are refused (a replayed batch, an old file
-- imported again). But the API takes events dated up to a day ahead of the server's clock (a shop sending
-- local time east of UTC without an offset does so all day), so a replay of such a batch, dated after the
-- erasure's clock time, brought the erased purchases back. `history_until` is the newest time of what the
-- erasure deleted when that is later than the erasure itself: events dated up to it are the erased history.
-- Null (rows from before, or written by older code during a rollout): erased_at alone, as before.
ALTER TABLE erased_users ADD COLUMN history_until timestamptz;
