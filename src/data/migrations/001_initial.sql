-- System of record: catalog, customers, purchases, feedback, jobs.
CREATE TABLE items (
  id          text PRIMARY KEY,
  title       text NOT NULL DEFAULT '',
  description text,
  categories  text[] NOT NULL DEFAULT '{}',
  price       double precision,
  attributes  jsonb NOT NULL DEFAULT '{}',
  available   boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id         text PRIMARY KEY,
  attributes jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- event_id is supplied by the client or derived from the event's content, so a retried batch adds nothing twice.
CREATE TABLE purchase_events (
  event_id   text PRIMARY KEY,
  user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  item_id    text NOT NULL REFERENCES items (id),
  quantity   integer NOT NULL CHECK (quantity > 0),
  price      double precision CHECK (price IS NULL OR price >= 0),
  order_id   text,
  ts         timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX purchase_events_user_ts ON purchase_events (user_id, ts);
CREATE INDEX purchase_events_item ON purchase_events (item_id);
CREATE INDEX purchase_events_ts ON purchase_events (ts);

CREATE TABLE feedback_events (
  event_id          text PRIMARY KEY,
  user_id           text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  item_id           text NOT NULL REFERENCES items (id),
  type              text NOT NULL CHECK (type IN ('impression', 'click', 'add_to_cart', 'purchase')),
  recommendation_id text,
  strategy          text,
  ts                timestamptz NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feedback_events_rec ON feedback_events (recommendation_id);

-- Long work (imports, training, evaluation). Workers claim queued rows with FOR UPDATE SKIP LOCKED.
CREATE TABLE jobs (
  id          text PRIMARY KEY,
  type        text NOT NULL,
  status      text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  params      jsonb NOT NULL DEFAULT '{}',
  progress    double precision NOT NULL DEFAULT 0,
  step        text,
  result      jsonb,
  error       text,
  worker_id   text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  started_at  timestamptz,
  finished_at timestamptz,
  heartbeat_at timestamptz
);
CREATE INDEX jobs_type_status ON jobs (type, status, created_at);
