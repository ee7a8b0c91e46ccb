-- Feedback on recommendations sent in a campaign (an e-mail or CRM export, POST /v1/exports): the
-- shop echoes the export's campaignId with its feedback, so GET /v1/metrics/online counts per campaign.
ALTER TABLE feedback_events ADD COLUMN campaign_id text;
CREATE INDEX feedback_events_campaign ON feedback_events (campaign_id, ts) WHERE campaign_id IS NOT NULL;
