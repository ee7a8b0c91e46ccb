-- An erasure deletes a customer's feedback (DELETE ... WHERE user_id = ANY(...)) and the customer's users
-- row, whose ON DELETE CASCADE looks for feedback of the same id again: without an index on user_id both
-- scanned the whole feedback history, under the lock every ingestion waits for (bench/README "Erasure":
-- a storefront's public key can grow that table by millions of rows). Built in the migration's transaction,
-- as 009's: feedback writes wait for it (seconds per ten million rows).
CREATE INDEX feedback_events_user ON feedback_events (user_id);
