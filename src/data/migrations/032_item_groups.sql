-- The product group an item belongs to (Google Merchant Center's item_group_id): the sizes and colours of one
-- style are separate products of one group. Served lists keep one product per group (serving/picker.ts), and a
-- product's page does not list its own group. Null: the item is a group of its own. A column, not an attribute:
-- it is read on every catalog change the serving overlay follows, and the popularity lists Postgres counts group
-- by it. Adding a nullable column without a default rewrites nothing (a catalogue lock of milliseconds).
ALTER TABLE items ADD COLUMN item_group_id text;
