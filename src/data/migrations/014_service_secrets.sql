-- Secrets the service makes for itself, shared by every replica on this database without an operator
-- configuring anything: `recommendation-id` signs the recommendationId of each answer, so feedback sent with
-- the public frontend key can be told from lists the service served (src/serving/recommendation-token.ts).
-- The row is made by the first process that needs it (src/data/secret-repository.ts), not here: a migrated
-- snapshot or template copied to another shop must not carry one. Never logged, never returned over HTTP.
CREATE TABLE service_secrets (
  name       text PRIMARY KEY,
  secret     text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
