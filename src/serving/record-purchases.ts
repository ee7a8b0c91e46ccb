import type { EventRepository, PurchaseInput } from '../data/event-repository.js';
import type { ModelStore } from '../store/model-store.js';

/**
 * Stores purchases (the system of record first), then appends the new ones to each user's live state in
 * the model store, so the next recommendation reflects them without retraining. A model-store failure
 * after the commit only delays the live update: the events are safe and the next training sees them.
 */
export function createPurchaseRecorder(deps: { events: EventRepository; store: ModelStore; log?: (err: unknown) => void }) {
  return async function recordPurchases(events: PurchaseInput[]) {
    const result = await deps.events.insertPurchases(events);
    if (result.inserted > 0) {
      const byUser = new Map<string, { itemId: string; ts: number }[]>();
      // Only the events stored now: repeats of a retried batch would crowd the capped live list.
      for (const [k, e] of events.entries()) {
        if (!result.newIds.has(result.eventIds[k])) continue;
        const list = byUser.get(e.userId) ?? [];
        list.push({ itemId: e.itemId, ts: e.ts.getTime() });
        byUser.set(e.userId, list);
      }
      try {
        await Promise.all([...byUser].map(([user, list]) => deps.store.appendUserEvents(user, list.sort((a, b) => a.ts - b.ts))));
      } catch (err) {
        deps.log?.(err);
      }
    }
    return result;
  };
}

export type RecordPurchases = ReturnType<typeof createPurchaseRecorder>;
