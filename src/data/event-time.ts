/**
 * How far ahead of this server's clock an event's time may be. A day covers any time zone written wrongly as UTC
 * and a storefront clock a little fast; anything later is a wrong clock. It is refused because recency is measured
 * from the newest stored purchase, not from the clock: one purchase dated 9999 would leave every "last N days"
 * window (popular items, RFM recency, training windows) empty or wrong.
 */
export const MAX_EVENT_LEAD_MS = 24 * 3600_000;

/** True when `ts` lies more than MAX_EVENT_LEAD_MS after `now`. */
export const tooFarAhead = (ts: Date, now = Date.now()): boolean => ts.getTime() > now + MAX_EVENT_LEAD_MS;
