-- Returns (a size sent back, an Online Retail cancellation invoice): events of their own, never a change to the
-- purchase they return, so a purchase stays what the shop recorded and a return can arrive in any order (a file of
-- returns before the file of purchases, a cancellation in the same batch as its order). A table of its own rather
-- than negative quantities in purchase_events: the readers that must see purchases as sold (a customer's purchase
-- list, item_buyers and its triggers, live serving state) are unchanged, and quantity stays > 0 everywhere.
--
-- What a return takes off is decided when purchases are read (data/return-allocation.ts): a return reduces the
-- purchases of its customer and item made at or before it, in the order it names when it names one, latest
-- first; what it returns beyond them takes nothing off. Training, evaluation and profiles read purchases net.
CREATE TABLE return_events (
  event_id   text PRIMARY KEY,
  user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  item_id    text NOT NULL REFERENCES items (id),
  quantity   integer NOT NULL CHECK (quantity > 0),
  -- The order the returned units were bought in, when known (Online Retail's cancellations do not say).
  order_id   text,
  ts         timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- A customer's returns of an item (netting, the API's check against what was bought, erasure).
CREATE INDEX return_events_user_item ON return_events (user_id, item_id, ts);
-- The returns of a read window (training's from/to).
CREATE INDEX return_events_ts ON return_events (ts);
