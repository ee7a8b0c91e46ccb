-- The A/B report sums each window's experiment feedback per customer (src/serving/online-metrics.ts,
-- ARM_CUSTOMERS_SQL). Through the time index it read every event of the window and threw away those outside
-- experiments (4 in 5 in bench/online-metrics.ts: a 90-day window 1.7 s at ten times Online Retail). This
-- index holds only experiment feedback, with every column the report reads. Built in the migration's
-- transaction, as 009's: feedback writes wait for it (about 2 s per ten million rows).
CREATE INDEX feedback_events_experiment_ts ON feedback_events (ts) INCLUDE (experiment_id, arm, user_id, type) WHERE experiment_id IS NOT NULL;
-- Feedback names an experiment and its arm together (the API refuses one without the other): a row with
-- one and not the other would be counted for no arm, or under an arm called "null". NOT VALID: the rows
-- already stored are not scanned (the API never stored such a row); every row written from now on is checked.
-- Adding it takes the table's ACCESS EXCLUSIVE lock until the migration commits: feedback writes wait for the
-- index build either way.
ALTER TABLE feedback_events ADD CONSTRAINT feedback_events_experiment_arm CHECK ((experiment_id IS NULL) = (arm IS NULL)) NOT VALID;
