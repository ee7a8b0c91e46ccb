-- Each customer who bought an item, once, with the time of their latest purchase of it: what windowed
-- popularity counts (GET /v1/popular?windowDays=N, serving/db-popularity.ts). An item's distinct buyers in
-- the window "ts >= cutoff" are exactly its rows here with last_ts >= cutoff, so the count reads one narrow
-- row per (item, customer) instead of finding the distinct pairs among every purchase line (a year at ten
-- times Online Retail: 4 million lines, past the 10 s statement limit).
--
-- Kept by triggers on purchase_events, in the writer's own transaction, so it is never behind the
-- purchases: an insert raises last_ts (GREATEST, so concurrent writers of one pair agree in any order), a
-- delete (an erasure, or a customer's rows cascading) takes the pair's latest remaining purchase or removes
-- the pair, a truncate empties it.
-- Purchases written and customers erased while the table is filled (a replica of the release before, in a
-- rolling upgrade, goes on writing) would be missed by the fill and not yet seen by the triggers, created
-- last: such writes wait for this migration (about 1.5 minutes at ten times Online Retail); reads go on.
LOCK TABLE purchase_events IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE item_buyers (
  item_id text NOT NULL,
  user_id text NOT NULL,
  last_ts timestamptz NOT NULL,
  -- By customer first: an attribute value's customers (a country) find their rows here, and an erasure its own.
  PRIMARY KEY (user_id, item_id) INCLUDE (last_ts)
);

INSERT INTO item_buyers (item_id, user_id, last_ts)
SELECT item_id, user_id, max(ts) FROM purchase_events GROUP BY item_id, user_id;

-- Short windows read only their own days; a year reads the table (the counting groups by item).
CREATE INDEX item_buyers_last_ts ON item_buyers (last_ts) INCLUDE (item_id, user_id);
-- Planned with statistics from the first count on (a table with none is planned as a guess: a seq scan
-- for a week's window, an index scan of every row for a country's).
ANALYZE item_buyers;

-- How many customers have a country (the default recipe's popularity attribute) is known to the planner:
-- without it any attribute value is guessed at 0.5% of the customers, and a country of nine in ten (the United
-- Kingdom in Online Retail) was read customer by customer through every row of theirs (3.1 s for a week's window
-- at ten times Online Retail, against 0.46 s by the window's rows). Other attributes keep the guess.
CREATE STATISTICS users_country ON (attributes ->> 'country') FROM users;
ANALYZE users;

CREATE FUNCTION item_buyers_add() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO item_buyers AS b (item_id, user_id, last_ts)
  SELECT item_id, user_id, max(ts) FROM item_buyers_new GROUP BY item_id, user_id ORDER BY user_id, item_id
  ON CONFLICT (user_id, item_id) DO UPDATE SET last_ts = excluded.last_ts WHERE b.last_ts < excluded.last_ts;
  RETURN NULL;
END
$$;

CREATE FUNCTION item_buyers_remove() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  -- The pairs of the rows gone: their latest remaining purchase, or none. The touched customers' remaining
  -- rows are grouped once (purchase_events_user_ts): a probe per pair walked all of a customer's deleted index
  -- entries again for each of their items (an erasure of a customer of 7,838 lines and 1,322 items: 4.5-8.6 s
  -- in the trigger, under the erasure lock that ingestion waits on; grouped, 0.3 s).
  WITH remaining AS (
    SELECT e.user_id, e.item_id, max(e.ts) AS last_ts
    FROM purchase_events e
    WHERE e.user_id IN (SELECT DISTINCT user_id FROM item_buyers_old)
    GROUP BY e.user_id, e.item_id
  ), touched AS (
    SELECT g.item_id, g.user_id, r.last_ts
    FROM (SELECT DISTINCT item_id, user_id FROM item_buyers_old) g
    LEFT JOIN remaining r ON r.user_id = g.user_id AND r.item_id = g.item_id
  ), gone AS (
    DELETE FROM item_buyers b USING touched t
    WHERE t.last_ts IS NULL AND b.item_id = t.item_id AND b.user_id = t.user_id
  )
  UPDATE item_buyers b SET last_ts = t.last_ts FROM touched t
  WHERE t.last_ts IS NOT NULL AND b.item_id = t.item_id AND b.user_id = t.user_id AND b.last_ts <> t.last_ts;
  RETURN NULL;
END
$$;

CREATE FUNCTION item_buyers_clear() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  TRUNCATE item_buyers;
  RETURN NULL;
END
$$;

CREATE TRIGGER item_buyers_insert AFTER INSERT ON purchase_events
  REFERENCING NEW TABLE AS item_buyers_new FOR EACH STATEMENT EXECUTE FUNCTION item_buyers_add();
CREATE TRIGGER item_buyers_delete AFTER DELETE ON purchase_events
  REFERENCING OLD TABLE AS item_buyers_old FOR EACH STATEMENT EXECUTE FUNCTION item_buyers_remove();
-- An update (none is made today) is the delete of the old row and the insert of the new.
CREATE TRIGGER item_buyers_update_old AFTER UPDATE ON purchase_events
  REFERENCING OLD TABLE AS item_buyers_old FOR EACH STATEMENT EXECUTE FUNCTION item_buyers_remove();
CREATE TRIGGER item_buyers_update_new AFTER UPDATE ON purchase_events
  REFERENCING NEW TABLE AS item_buyers_new FOR EACH STATEMENT EXECUTE FUNCTION item_buyers_add();
CREATE TRIGGER item_buyers_truncate AFTER TRUNCATE ON purchase_events
  FOR EACH STATEMENT EXECUTE FUNCTION item_buyers_clear();
