import { type BrowserLabelRule, type EventRepository, type FeedbackInput, type PurchaseInput } from '../data/event-repository.js';
import type { RecommendationIds } from './recommendation-ids.js';
import type { Db } from '../data/db.js';
import { INGEST_LOCK } from '../data/erasure-repository.js';
import type { ModelStore } from '../store/model-store.js';

/**
 * Stores purchases (the system of record first), then appends the new ones to each user's live state in
 * the model store, so the next recommendation reflects them without retraining. The append happens
 * before the write commits, so an erasure waiting for this write drops them after (erasure-repository
 * ERASURE_LOCK). A model-store failure only delays the live update: the events are stored anyway and
 * the next training sees them.
 */
export function createPurchaseRecorder(deps: { events: EventRepository; store: ModelStore; log?: (err: unknown) => void }) {
  return async function recordPurchases(events: PurchaseInput[]) {
    return deps.events.insertPurchases(events, async (stored) => {
      const byUser = new Map<string, { itemId: string; ts: number }[]>();
      // Only the events stored now, as stored: repeats of a retried batch would crowd the capped live list,
      // and a second event of the batch under a stored id (another product) was not bought.
      for (const e of stored) {
        const list = byUser.get(e.userId) ?? [];
        list.push({ itemId: e.itemId, ts: e.ts.getTime() });
        byUser.set(e.userId, list);
      }
      // Every append settles before the write commits (none may land after an erasure that waits for it);
      // a failed one is logged, and the write is stored anyway.
      const appended = await Promise.allSettled([...byUser].map(([user, list]) => deps.store.appendUserEvents(user, list.sort((a, b) => a.ts - b.ts))));
      for (const a of appended) if (a.status === 'rejected') deps.log?.(a.reason);
    });
  };
}

export type RecordPurchases = ReturnType<typeof createPurchaseRecorder>;

/**
 * Stores feedback events; with `purchasesToo` (a server-side key: a browser's frontend key could forge
 * sales), each `purchase` feedback is also recorded as a purchase of one unit, so it reaches live
 * recommendations, profiles and the next training like any other purchase. Its event id is the
 * feedback's stored id, given or derived (`feedback:<id>`): a retried batch adds it once, and an erasure
 * falling between the two writes knows it (it hashes `feedback:<id>` of the purchase feedback it deletes).
 */
export function createFeedbackRecorder(deps: {
  events: Pick<EventRepository, 'insertFeedback'>;
  recordPurchases: RecordPurchases;
  /** Strategies a list of this service may carry (serving's servedStrategies): with `knownLabelsOnly`, the strategy labels kept. */
  servedStrategies: () => ReadonlySet<string>;
  /** The service's recommendationIds: with `knownLabelsOnly`, a signed one gives the event its list's labels. */
  ids: Pick<RecommendationIds, 'ready' | 'claimsOf'>;
}) {
  return async function recordFeedback(feedback: FeedbackInput[], opts: { purchasesToo: boolean; knownItemsOnly?: boolean; knownLabelsOnly?: boolean }) {
    // A browser's labels are those of the list it names by a recommendationId the service signed; without
    // one, no experiment arm, and a strategy only when the service could have served it. Anyone holding the
    // public key could otherwise fill the online reports and the feedback gauges with made-up strategies, or
    // skew an A/B test with clicks labelled with a real arm's name.
    let browserLabels: BrowserLabelRule | undefined;
    // Any key's feedback gets the model version of the list it names, when the service signed that id.
    await deps.ids.ready();
    // Each list the batch names verified once, before the insert's transaction holds a connection and its locks.
    const claims = deps.ids.claimsOf(feedback.map((e) => e.recommendationId));
    if (opts.knownLabelsOnly) browserLabels = { strategies: deps.servedStrategies(), served: claims.servedLabels, personalSince: claims.personalSince };
    const result = await deps.events.insertFeedback(feedback, {
      knownItemsOnly: opts.knownItemsOnly,
      browserLabels,
      storedPurchases: opts.purchasesToo,
      modelVersionOf: claims.modelVersion,
      madeForAnother: claims.madeForAnother,
    });
    if (opts.purchasesToo) {
      // What the ids hold as stored, not what this batch says under them: a purchase only where the feedback
      // stored under an id (now, or by an earlier batch) is one, and that purchase.
      const purchases: PurchaseInput[] = result.purchases.map((p) => ({ eventId: `feedback:${p.eventId}`, userId: p.userId, itemId: p.itemId, quantity: 1, price: null, orderId: null, ts: p.ts }));
      if (purchases.length > 0) await deps.recordPurchases(purchases);
    }
    return result;
  };
}

export type RecordFeedback = ReturnType<typeof createFeedbackRecorder>;

/** Customers whose live state the import feed appends to at once. */
const FEED_GROUP = 64;

/** Most purchases of one import pushed to live state: a larger import waits for the next training. */
const MAX_LIVE_FROM_IMPORT = 100_000;

/**
 * After an import: the purchases it stored that are newer than the active model's data (created since
 * `since`, ts after the model's `now`) go to each customer's live state, as POST /v1/events does, so an
 * import of today's orders changes the next answer without retraining. Older
 * purchases (a backfill) are the next training's.
 */
export function createImportedPurchasesFeed(deps: {
  db: Pick<Db, 'transaction'>;
  store: Pick<ModelStore, 'getActive' | 'appendUserEvents'>;
  log?: (err: unknown) => void;
}) {
  return async function feedImported(since: Date): Promise<number> {
    try {
      const active = await deps.store.getActive();
      const now = (active?.info as { serving?: { now?: unknown } } | undefined)?.serving?.now;
      if (typeof now !== 'number') return 0;
      // As ingestion does: waits for an erasure's last part, reads no erased customer's purchases, and
      // appends before it lets an erasure go on (erasure-repository ERASURE_LOCK).
      return await deps.db.transaction(async (tx) => {
        await tx.query(INGEST_LOCK);
        const { rows } = await tx.query<{ user_id: string; item_id: string; ts: Date }>(
          `SELECT p.user_id, p.item_id, p.ts FROM purchase_events p
           WHERE p.created_at >= $1 AND p.ts > $2
             AND NOT EXISTS (SELECT 1 FROM erased_users e WHERE e.user_id = p.user_id AND p.ts <= e.erased_at)
           ORDER BY p.ts DESC, p.user_id LIMIT ${MAX_LIVE_FROM_IMPORT}`,
          [since, new Date(now)],
        );
        // The newest first, so a cut at MAX_LIVE_FROM_IMPORT keeps the latest purchases (not the ids first in
        // alphabetical order); each customer's list in time order, as appended live.
        const byUser = new Map<string, { itemId: string; ts: number }[]>();
        for (const r of rows.reverse()) {
          const list = byUser.get(r.user_id) ?? [];
          list.push({ itemId: r.item_id, ts: new Date(r.ts).getTime() });
          byUser.set(r.user_id, list);
        }
        // In bounded groups, each settled before the next: the lock is held for round trips, not one per customer.
        const users = [...byUser];
        for (let from = 0; from < users.length; from += FEED_GROUP) {
          const appended = await Promise.allSettled(users.slice(from, from + FEED_GROUP).map(([user, list]) => deps.store.appendUserEvents(user, list)));
          for (const a of appended) if (a.status === 'rejected') deps.log?.(a.reason);
        }
        return rows.length;
      });
    } catch (err) {
      // The purchases are stored; only their live effect waits for the next training.
      deps.log?.(err);
      return 0;
    }
  };
}
