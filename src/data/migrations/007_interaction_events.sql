-- Events that show intent without being a sale (issue 14): product views, add-to-cart, ratings.
-- A table of their own rather than a type column on purchase_events: every purchases-only reader
-- (buy-again, RFM and profiles, a user's purchase list, the import feed of live state) keeps reading
-- purchase_events with no type filter to forget, and a row here is narrow (no quantity, price or
-- order), which matters when views are 10-100x the purchases. type is a smallint code, not text:
-- 1 = view, 2 = add_to_cart, 3 = rating (value = the rating, 1..5; null for the others).
CREATE TABLE interaction_events (
  event_id   text PRIMARY KEY,
  user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  item_id    text NOT NULL REFERENCES items (id),
  type       smallint NOT NULL CHECK (type IN (1, 2, 3)),
  value      real CHECK ((type = 3) = (value IS NOT NULL) AND (value IS NULL OR value BETWEEN 1 AND 5)),
  ts         timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- Training reads only the types its recipe weighs (a view weight of 0 skips the views) in a time window.
CREATE INDEX interaction_events_type_ts ON interaction_events (type, ts);
-- A visitor's recent views (session recommendations) and erasure.
CREATE INDEX interaction_events_user_ts ON interaction_events (user_id, ts);
