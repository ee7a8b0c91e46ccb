/**
 * POST /v1/recommendations: an anonymous or new visitor described by a context (cart or session item
 * ids, oldest first), items viewed in the session (sent, or the latest views stored for `userId`) and
 * attributes (sent, or those stored for `userId`). Neighbours of the context items (item-kNN, co-occurrence, content) rank the
 * list, then the content neighbours of cart items added after training; the attribute segment's popularity,
 * then global popularity, fill it.
 */
import { dependencyFailure } from '../errors.js';
import type { ItemInfo } from '../recommenders/dataset.js';
import { diversify } from './diversify.js';
import { RELATED_TO, scoreByNeighbours } from './neighbour-scores.js';
import { newItemDepth, newItemNeighbours } from './new-item-neighbours.js';
import { newItemRecordsOf } from './new-item-records.js';
import { itemFilter, Picker } from './picker.js';
import { toRecommendation, type ListQuery, type Recommendation } from './recommendation.js';
import { poolSize, preferredAttribute, type ServingDeps } from './serving-deps.js';
import type { ServingModel } from './serving-model.js';
import { findSegment } from './serving-tables.js';

export interface ContextQuery extends ListQuery {
  /** Item ids of the cart or session, oldest first; unknown ids are ignored. */
  items: readonly string[];
  /** Item ids viewed in the session, oldest first: weaker anchors than cart items (VIEW_ANCHOR_WEIGHT). */
  viewed?: readonly string[];
  /** A visitor whose stored views (POST /v1/events type view) join `viewed`, and whose stored attributes answer when none are sent; never their purchases. */
  userId?: string;
  /** Default true: the viewed items (sent and stored) are not recommended back, as cart items never are. */
  excludeViewed?: boolean;
  attributes?: Record<string, unknown>;
}

/** The most recent context items used; older ones add little and cost time. */
const MAX_ANCHORS = 20;
/** Neighbours the context is scored by, by recommender family (whatever the recipe names its sources). */
export const CONTEXT_SOURCES = { 'item-knn': 1, cooccurrence: 0.7, content: 0.5 };
/**
 * A viewed item as an anchor weighs this much of a cart item at the same position: a view is a weaker
 * signal of intent than a cart (the default recipe weighs a view 0.1 and a cart 0.3 of an order).
 */
export const VIEW_ANCHOR_WEIGHT = 0.3;

/** Anchors from context ids (oldest first): the last is the freshest intent, weights 1, 1/2, 1/3, ... going back, times `scale`. */
function anchorsOf(ids: readonly string[], index: ReadonlyMap<string, number>, scale: number) {
  const known = ids.map((id) => index.get(id)).filter((i): i is number => i !== undefined);
  const recent = known.slice(-MAX_ANCHORS);
  return recent.map((item, k) => ({ item, weight: scale / (recent.length - k) }));
}

/** Cart items unknown to the model whose content neighbours are looked up: the newest few (each is a catalog read). */
const NEW_ITEM_ANCHORS = 3;

/**
 * The catalog records of the cart's items that the model does not know (added after training), in cart order,
 * null for an id the catalog lacks too; none when the catalog does not answer. One read of them all: their
 * product groups are left out of the list, and the newest few anchor by content (newItemPicks).
 */
async function newItemRecords(deps: ServingDeps, model: ServingModel, cart: readonly string[]): Promise<(ItemInfo | null)[]> {
  const unknown = [...new Set(cart.filter((id) => !model.items.index.has(id)))];
  if (unknown.length === 0) return [];
  // Kept per version until the product changes (new-item-records.ts): a cart is asked for again and again.
  const records = await hint(deps, 'reading a cart item failed', newItemRecordsOf(model, unknown, (ids) => deps.catalog.getItems(ids)));
  return records ?? [];
}

/**
 * Content neighbours of the cart's newest items that the model does not know but the catalog does
 * (`records`, newItemRecords), best first: cosine x the content source's context weight x the anchor's weight
 * (1, 1/2, 1/3 going back, as known anchors). Ids the catalog lacks too, or a catalog that does not
 * answer, add nothing.
 */
async function newItemPicks(deps: ServingDeps, model: ServingModel, unknown: readonly (ItemInfo | null)[], depth: number) {
  const records = unknown.slice(-NEW_ITEM_ANCHORS);
  const picks: { item: number; score: number; sources: string[]; explanation: string }[] = [];
  for (const [k, record] of records.entries()) {
    const near = record && (await newItemNeighbours(deps, model, record, depth));
    if (!near) continue;
    const weight = CONTEXT_SOURCES.content / (records.length - k);
    const explanation = RELATED_TO.content!(record.title || record.id);
    for (const n of near.neighbours) picks.push({ item: n.item, score: weight * n.score, sources: [near.source], explanation });
  }
  return picks.sort((a, b) => b.score - a.score);
}

/** `read`'s result, or null (logged) when it fails. */
const hint = <T>(deps: ServingDeps, failure: string, read: Promise<T>): Promise<T | null> =>
  read.catch((err: unknown) => {
    deps.log?.(failure, err);
    return null;
  });

/**
 * What recommendForContext answers, with `userList`, for a visitor named by `userId` who brings no context at
 * all (no cart, no session views sent or stored, no attributes sent): that customer's own list is asked for
 * instead (GET /v1/users/:id/recommendations' answer), where the context alone could only answer popularity.
 */
export const USER_LIST = Symbol('the customer\'s own list');

/**
 * The hand-over to the customer's own list, with what the context step already read of them: their catalog
 * record (null when there is none, or when Postgres failed), and whether a Postgres read failed (a hang given
 * up at PG_QUERY_TIMEOUT_MS, an outage). The list does not ask a Postgres that just failed this request again:
 * that was a second wait of the statement limit in a row for an answer the first had already degraded.
 */
export interface UserListHandOff {
  kind: typeof USER_LIST;
  user: { attributes: Record<string, unknown> } | null;
  databaseFailed: boolean;
}

export const isUserListHandOff = (answer: Recommendation | UserListHandOff): answer is UserListHandOff => 'kind' in answer && answer.kind === USER_LIST;

export function recommendForContext(deps: ServingDeps, q: ContextQuery): Promise<Recommendation>;
export function recommendForContext(deps: ServingDeps, q: ContextQuery, opts: { userList: true }): Promise<Recommendation | UserListHandOff>;
export async function recommendForContext(deps: ServingDeps, q: ContextQuery, opts?: { userList: true }): Promise<Recommendation | UserListHandOff> {
  // What is stored of `userId` (attributes when none are sent, views), read together: a hint, so with
  // Postgres down the answer goes on from what the request holds.
  let databaseFailed = false;
  const failed = (err: unknown) => {
    if (dependencyFailure(err)) databaseFailed = true;
    throw err;
  };
  // A customer whose erasure is owed is read nothing of (their record, views): as one erased, whose are gone.
  const named = q.userId !== undefined && !deps.owed?.(q.userId) ? q.userId : undefined;
  const [model, user, stored] = await Promise.all([
    deps.model(),
    q.attributes === undefined && named ? hint(deps, 'reading a visitor\'s attributes failed', deps.catalog.getUser(named).catch(failed)) : null,
    named && deps.recentViews ? hint(deps, 'reading recent views failed', deps.recentViews(named, MAX_ANCHORS).catch(failed)).then((v) => v ?? []) : [],
  ]);
  const attributes = q.attributes ?? user?.attributes ?? {};
  const viewed = [...stored, ...(q.viewed ?? [])];
  // A customer with nothing but their id: a context list would be popularity, their own list is better.
  if (opts?.userList && q.userId !== undefined && q.items.length === 0 && viewed.length === 0 && q.attributes === undefined) {
    return { kind: USER_LIST, user: user ? { attributes: user.attributes } : null, databaseFailed };
  }
  // Cart items are never recommended back; viewed ones unless asked for.
  const exclude = [...(q.exclude ?? []), ...q.items, ...(q.excludeViewed === false ? [] : viewed)];
  if (!model) {
    // Nor are the other sizes and colours of what is in the cart: their groups, as the catalog says (a hint).
    const records = q.items.length > 0 ? await hint(deps, 'reading the cart items failed', deps.catalog.getItems([...q.items])) : [];
    const excludeGroups = [...new Set((records ?? []).flatMap((r) => (r.itemGroupId ? [r.itemGroupId] : [])))];
    return deps.dbPopular.recommend({ ...q, exclude, excludeGroups, attribute: preferredAttribute(attributes) }, { fallback: true });
  }

  // A viewed item that is also in the cart anchors as a cart item only.
  const carted = new Set(q.items);
  const anchors = [...anchorsOf(viewed.filter((id) => !carted.has(id)), model.items.index, VIEW_ANCHOR_WEIGHT), ...anchorsOf(q.items, model.items.index, 1)];
  const picker = new Picker(model, itemFilter(model, { ...q, exclude }), poolSize(q));
  // Nor are the other sizes and colours of what is in the cart: by the model's items, and by the catalog record
  // of an item added after training (as on its own page).
  for (const id of q.items) {
    const i = model.items.index.get(id);
    if (i !== undefined) picker.leaveOutGroupOf(i);
  }
  const unknown = await newItemRecords(deps, model, q.items);
  for (const record of unknown) picker.leaveOutGroup(record?.itemGroupId);
  for (const p of scoreByNeighbours(model, anchors, CONTEXT_SOURCES, RELATED_TO)) {
    if (picker.offer(p.item, p.score, p.sources, p.explanation) && picker.full) break;
  }
  // Cart items added after training: no neighbour table knows them, their content does (as on their own page).
  if (!picker.full) {
    for (const p of await newItemPicks(deps, model, unknown, newItemDepth(q))) {
      if (picker.offer(p.item, p.score, p.sources, p.explanation) && picker.full) break;
    }
  }
  const fromContext = picker.picks.length > 0;
  picker.backfillPopular(findSegment(model.popular, attributes));
  const picks = diversify(model, picker.picks, q.k, q.diversity ?? 0);
  return toRecommendation(model, fromContext ? 'context' : 'popularity', !fromContext, picks);
}
