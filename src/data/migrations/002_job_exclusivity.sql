-- At most one queued-or-running job per exclusive key (e.g. 'train': one training at a time). The index,
-- not application code, decides between two concurrent enqueues, so the check has no race window.
ALTER TABLE jobs ADD COLUMN exclusive_key text;
CREATE UNIQUE INDEX jobs_one_active_per_key ON jobs (exclusive_key) WHERE status IN ('queued', 'running');
-- Recovery scans running jobs by heartbeat age.
CREATE INDEX jobs_running_heartbeat ON jobs (heartbeat_at) WHERE status = 'running';
