import type { ItemInfo, PurchaseRow } from '../recommenders/dataset.js';
import type { ModelStore } from '../store/model-store.js';
import type { DbPopularity } from './db-popularity.js';
import type { ListQuery } from './recommendation.js';
import type { ServingModel } from './serving-model.js';
import { within } from '../within-time.js';

/** What the use cases read: the active model (cached), the model store, and Postgres only off the hot path. */
export interface ServingDeps {
  model(): Promise<ServingModel | null>;
  /**
   * Whether a null model() is the store's answer that no version is active (ServingModelCache.noneActive),
   * not a store that could not be read or a version that could not be loaded. Absent: not known, as in an
   * outage (answers fall back, nothing is refused for want of a model).
   */
  noneActive?(): boolean;
  /**
   * Whether the customer's erasure is owed (asked for and recorded, not completed: privacy/owed-erasures.ts): they are
   * answered as an erased customer is, nothing of theirs read (README "Erasure"). Absent: none is.
   */
  owed?(userId: string): boolean;
  store: Pick<ModelStore, 'getEntries' | 'getUserEvents' | 'getArtifact'>;
  /** Catalog reads for users and items the model does not know (created after training). */
  catalog: {
    getUser(id: string): Promise<{ attributes: Record<string, unknown> } | null>;
    getItem(id: string): Promise<ItemInfo | null>;
    getItems(ids: string[]): Promise<ItemInfo[]>;
  };
  dbPopular: DbPopularity;
  /**
   * A customer's purchases (Postgres), read only for customers the model has no precomputed entry for
   * (see on-request-scorer.ts); without it they get the cold-start answer.
   */
  purchases?: (userId: string) => Promise<PurchaseRow[]>;
  /**
   * The distinct items a customer bought after `since` (ms; all with null), from Postgres: read only when the
   * model store's live list of their purchases is full and may have dropped some since training
   * (LIVE_EVENTS_KEPT), so a large order's first lines are not offered back to them.
   */
  boughtSince?: (userId: string, since: number | null) => Promise<string[]>;
  /** A visitor's latest viewed item ids (Postgres), oldest first: session context for POST /v1/recommendations. */
  recentViews?: (userId: string, limit: number) => Promise<string[]>;
  /**
   * How long a request waits for a version's scorer or new-item describer still loading (a storefront
   * process readied them before, so a load here is a retry after a failure): past it the request gets the
   * cold-start or popularity answer and the load goes on. Unset (workers: exports), it waits for the load.
   */
  loadWaitMs?: number;
  /** Told whether a keepable user answer was found kept (hit) or computed anew (miss). */
  answerLookup?: (hit: boolean) => void;
  log?: (msg: string, err?: unknown) => void;
}

/** A load a request waits for: at most `loadWaitMs` (then null, the load going on), or until it is done. */
export const waitedFor = <T>(deps: Pick<ServingDeps, 'loadWaitMs'>, load: Promise<T | null>): Promise<T | null> =>
  deps.loadWaitMs === undefined ? load : within(load, deps.loadWaitMs, () => null);

/** Candidates gathered before diversity re-ranking picks k of them (just k without diversity). */
export const poolSize = (q: ListQuery) => (q.diversity && q.diversity > 0 ? Math.min(Math.max(3 * q.k, q.k + 10), 300) : q.k);

/** The attribute that picks a popularity list in the database fallback: country when there is one. */
export function preferredAttribute(attributes: Record<string, unknown>): { name: string; value: string } | undefined {
  if (typeof attributes.country === 'string' && attributes.country) return { name: 'country', value: attributes.country };
  for (const [name, value] of Object.entries(attributes)) if (typeof value === 'string' && value) return { name, value };
  return undefined;
}

/** Model indices of the newest distinct live purchases the model knows, newest first. */
export function liveItems(model: ServingModel, events: readonly { itemId: string; ts: number }[], keep: (item: number, ts: number) => boolean = () => true) {
  const out: { item: number; ts: number }[] = [];
  const seen = new Set<number>();
  for (let e = events.length - 1; e >= 0; e--) {
    const item = model.items.index.get(events[e].itemId);
    if (item === undefined || seen.has(item)) continue;
    seen.add(item);
    if (keep(item, events[e].ts)) out.push({ item, ts: events[e].ts });
  }
  return out;
}
