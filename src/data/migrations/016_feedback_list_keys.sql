-- A browser's (frontend key's) event on a list the service signed counts once per list, item and type: a
-- token copied from one page must not be replayed as any number of clicks (src/data/event-repository.ts,
-- keepKnownLabels). The key is kept beside the event's own id, which still dedupes the same event sent
-- again by another key (a backend replaying the browser's feedback under its eventId).
ALTER TABLE feedback_events ADD COLUMN list_key text;
CREATE UNIQUE INDEX feedback_events_list_key ON feedback_events (list_key) WHERE list_key IS NOT NULL;
