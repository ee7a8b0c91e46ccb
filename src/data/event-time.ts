/**
 * How far ahead of this server's clock an event's time may be. A day covers any time zone written wrongly as UTC
 * and a storefront clock a little fast; anything later is a wrong clock. It is refused because recency is measured
 * from the newest stored purchase, not from the clock: one purchase dated 9999 would leave every "last N days"
 * window (popular items, RFM recency, training windows) empty or wrong.
 */
export const MAX_EVENT_LEAD_MS = 24 * 3600_000;

/** True when `ts` lies more than MAX_EVENT_LEAD_MS after `now`. */
export const tooFarAhead = (ts: Date, now = Date.now()): boolean => ts.getTime() > now + MAX_EVENT_LEAD_MS;

/**
 * The earliest time an event may have: the Unix epoch. Nothing a shop sells online happened earlier, and a
 * year such as 0001 is a default value or a format mistake; it would stretch every "since the first
 * purchase" measure (tenure, lifecycle, daily series) over two thousand years.
 */
export const EARLIEST_EVENT_MS = 0;

/** True when `ts` lies before EARLIEST_EVENT_MS. */
export const tooFarBack = (ts: Date): boolean => ts.getTime() < EARLIEST_EVENT_MS;

const FIRST_QUERYABLE_MS = Date.parse('0001-01-01T00:00:00Z');
const LAST_QUERYABLE_MS = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * Whether a time asked of the data (a training's from / to, an evaluation's cutoff or window end) can be
 * passed to Postgres as toISOString writes it: years 1 to 9999 in UTC. Year 0 and years past 9999 (written
 * +010000-...) are refused by Postgres as out of range, which a job found only after it was accepted.
 */
export const queryableTime = (iso: string): boolean => {
  const ms = Date.parse(iso);
  return ms >= FIRST_QUERYABLE_MS && ms <= LAST_QUERYABLE_MS;
};

export const QUERYABLE_TIME_MESSAGE = 'expected a time from 0001-01-01 to 9999-12-31 (UTC)';

