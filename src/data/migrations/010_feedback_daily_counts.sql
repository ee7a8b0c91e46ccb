-- Online metrics over long windows (GET /v1/metrics/online?days=365, /daily): a year of feedback at ten
-- times Online Retail (ten million rows) took 14 s to count on every ask (bench/README "Online metrics").
-- Days that have closed are counted once into feedback_daily_counts (src/data/feedback-rollup.ts) and
-- read from there; the window's open ends are counted from feedback_events as before.

-- Counts of one UTC day per strategy, experiment arm and campaign (NULL: feedback without one).
CREATE TABLE feedback_daily_counts (
  day date NOT NULL,
  strategy text,
  experiment_id text,
  arm text,
  campaign_id text,
  impressions bigint NOT NULL,
  clicks bigint NOT NULL,
  add_to_cart bigint NOT NULL,
  purchases bigint NOT NULL
);
CREATE INDEX feedback_daily_counts_day ON feedback_daily_counts (day);

-- One row per day counted or waiting to be counted again: `counted` is false once feedback of that day
-- arrived late or was erased after its counts were made. `changes` goes up with every such write, so a
-- count that raced one sees it changed and leaves the day to be counted again (no writer waits for a count).
CREATE TABLE feedback_counted_days (
  day date PRIMARY KEY,
  counted boolean NOT NULL,
  changes bigint NOT NULL DEFAULT 0
);
