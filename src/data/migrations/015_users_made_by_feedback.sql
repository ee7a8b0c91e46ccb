-- Customer rows that feedback alone made (POST /v1/feedback naming an id nobody stored): the retention
-- sweep (src/data/feedback-retention.ts) deletes such a row once it holds nothing, and only such a row.
-- A row the shop wrote (PUT /v1/users/:id, a users import) is the shop's, even with no attributes: writing
-- it clears the flag. Rows from before this migration are not flagged, so the sweep leaves them.
ALTER TABLE users ADD COLUMN made_by_feedback boolean NOT NULL DEFAULT false;
