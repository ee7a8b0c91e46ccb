-- The transaction that last wrote each item (its 64-bit id, pg_current_xact_id()), set by a trigger on every insert
-- and update whoever writes. The serving catalog overlay (serving/catalog-overlay.ts) reads, each pass, the items
-- written by the transactions its last pass could not see (pg_current_snapshot()): a long sync that commits after a
-- pass is read by the next one whatever its updated_at, and a quiet catalogue is not read at all (the index range
-- past the last pass's oldest open transaction is empty). updated_at, a transaction's start time, could do neither.
-- Null: written before this migration, by a transaction every later snapshot sees. A nullable column without a
-- default rewrites nothing; the index over all-null rows is built at once.
ALTER TABLE items ADD COLUMN write_xid xid8;

CREATE FUNCTION items_write_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.write_xid := pg_current_xact_id();
  RETURN NEW;
END
$$;

CREATE TRIGGER items_write_xid BEFORE INSERT OR UPDATE ON items FOR EACH ROW EXECUTE FUNCTION items_write_xid();

CREATE INDEX items_write_xid_idx ON items (write_xid, id);
