-- Online metrics (GET /v1/metrics/online, /daily, the feedback-rate gauges) read the feedback of the last
-- N days: without an index on ts each read scanned the whole history (bench/README "Online metrics").
-- Built in the migration's transaction: feedback writes wait for it (seconds per ten million rows).
CREATE INDEX feedback_events_ts ON feedback_events (ts);
