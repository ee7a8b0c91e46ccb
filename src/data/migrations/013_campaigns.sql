-- The campaigns exports were made for (POST /v1/exports and npm run export with a campaignId): feedback a
-- browser sends with the public frontend key keeps its campaignId only when a campaign of that id was
-- exported, so the key cannot fill GET /v1/metrics/online with made-up campaigns. Campaigns of exports
-- run as jobs before this migration are taken from the job table; those made by npm run export without a
-- server are not on record (a browser's feedback of them is stored without its campaignId).
CREATE TABLE campaigns (
  id         text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO campaigns (id)
  SELECT DISTINCT params->>'campaignId' FROM jobs WHERE type = 'export' AND params->>'campaignId' IS NOT NULL
  ON CONFLICT DO NOTHING;
