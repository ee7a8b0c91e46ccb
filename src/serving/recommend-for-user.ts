/**
 * GET /v1/users/:id/recommendations. A known user costs one live-events read from the model store, plus
 * one user-entry read (concurrently) the first time the user is seen in a model version; everything else
 * is in process memory and no Postgres query is made. A user without purchases since training gets the
 * version's finished answer to the same query again when there is one (answer-cache.ts). A user the
 * model does not know gets a cold-start answer (fallback: true), and with no model at all the
 * database's popularity. With the model store down, a known user whose entry this process holds still
 * gets a personal answer (without purchases since training), marked `fallback: true`.
 */
import { AppError, dependencyFailure } from '../errors.js';
import { answerKey } from './answer-cache.js';
import { ArtifactFormatError } from '../recommenders/artifact.js';
import { diversify } from './diversify.js';
import { BOUGHT_BEFORE, explainPicks } from './explanations.js';
import { BECAUSE_YOU_BOUGHT, scoreByNeighbours } from './neighbour-scores.js';
import { itemFilter, Picker } from './picker.js';
import { DEGRADED, UNLISTED, popularityRun, toRecommendation, type Pick, type Recommendation, type UserQuery } from './recommendation.js';
import { LIVE_EVENTS_KEPT } from '../store/model-store.js';
import { liveItems, poolSize, preferredAttribute, waitedFor, type ServingDeps } from './serving-deps.js';
import { sourcesOfMask, type ServingModel } from './serving-model.js';
import { findSegment } from './serving-tables.js';
import { decodeCandidates, decodeUserEntry, sortedHas, strategyTable, USERS_TABLE, type Candidates, type UserEntry } from './user-entry.js';
import { loadOnRequestScorer, type OnRequestScorer } from './on-request-scorer.js';
import type { PurchaseRow } from '../recommenders/dataset.js';
import { storedStrategies, type ScoredUser } from './serving-model-builder.js';
import { listsOwnItemsOnly } from './own-item-sources.js';
import { heldHistory } from './held-history.js';
import { CONTEXT_SOURCES } from './recommend-for-context.js';
import { newItemRecordsOf } from './new-item-records.js';

/**
 * Most share of the blended score given to neighbours of purchases made since training. The share is
 * the live orders' part of all the customer's orders (blendLive), so one new order moves a long history
 * a little and a short one a lot.
 */
const LIVE_WEIGHT = 0.5;
/** The constant of reciprocal rank fusion (Cormack, Clarke & Buettcher 2009): a list's r-th item (from 0) counts 1 / (r + 60). */
const RANK_OFFSET = 60;
/** Newest live purchases whose neighbours are blended in (weights 1, 1/2, 1/3, ...). */
const LIVE_ANCHORS = 5;
/** Neighbours blended in for purchases since training, by recommender family (whatever the recipe names its sources). */
const LIVE_SOURCES = { 'item-knn': 1, content: 0.3 };
const NONE: { item: number; ts: number }[] = [];
const NO_ITEMS: number[] = [];

/**
 * Model indices of the items `userId` bought after `since` (ms; all with null), read from Postgres; none when it is
 * down. The ids of products the model does not know among them are added to `unknown`, when given.
 */
async function boughtSince(deps: ServingDeps, model: ServingModel, userId: string, since: number | null, down: Degraded, unknown?: string[]): Promise<number[]> {
  if (!deps.boughtSince) return NO_ITEMS;
  // Postgres failed this request already: not asked again, and the answer, without them, is degraded.
  if (down.databaseFailed) return skipped(NO_ITEMS, down);
  const ids = await unlessDown(deps.boughtSince(userId, since), [], down);
  return ids.flatMap((id) => {
    const item = model.items.index.get(id);
    if (item === undefined) unknown?.push(id);
    return item ?? [];
  });
}

/**
 * The ids of live purchases of products the version does not know (added after its training), when their groups
 * are to be left out (purchases excluded, a catalogue with groups); none otherwise.
 */
function unknownPurchases(model: ServingModel, live: readonly { itemId: string }[], excludePurchased: boolean): string[] {
  if (!excludePurchased || !model.items.groups) return [];
  return live.flatMap((e) => (model.items.index.has(e.itemId) ? [] : [e.itemId]));
}

/**
 * Leaves out the groups of products the version does not know that the customer bought (`ids`), as their catalog
 * records say (kept per version, new-item-records.ts): a new size of a known style bought leaves the style out as a
 * known size does. Nothing when the catalog does not answer.
 */
async function leaveOutUnknownGroups(deps: ServingDeps, model: ServingModel, picker: Picker, ids: readonly string[], down: Degraded): Promise<void> {
  if (ids.length === 0) return;
  if (down.databaseFailed) return skipped(undefined, down);
  const records = await unlessDown(
    newItemRecordsOf(model, [...new Set(ids)], (missing) => deps.catalog.getItems(missing)),
    [],
    down,
  );
  for (const record of records) picker.leaveOutGroup(record?.itemGroupId);
}

const entryKey = (table: string, userId: string) => `${table}\u0000${userId}`;
/**
 * How long a customer the version has no entry for, found without purchases in Postgres, is answered as a
 * cold start without reading Postgres again (their purchases and their record, two reads per request
 * before). What they buy meanwhile reaches the answer through their live events; purchases imported for
 * them count from the next read.
 */
export const NO_PURCHASES_RECHECK_MS = 30_000;
/** Entry-cache key prefix of that: { until, user } (the customer's record, dropped on erasure). */
const NO_PURCHASES = '!no-purchases';
interface NoPurchases {
  until: number;
  user: { attributes: Record<string, unknown> } | null;
}

/** Set when a read was given up because its store is down: the answer is then degraded. */
interface Degraded {
  degraded: boolean;
  /** Set when a single strategy's list could not be scored and popularity answered instead (UNLISTED). */
  unlisted?: boolean;
  /**
   * Postgres already failed this request (the context step's reads, recommend-for-context.ts): it is not
   * asked again, so a hanging Postgres costs the request one wait of PG_QUERY_TIMEOUT_MS, not two in a row.
   */
  databaseFailed?: boolean;
}

/** What the caller already read of the customer in this request (POST /v1/recommendations' hand-over). */
export interface AlreadyRead {
  /** Their catalog record: null when there is none or when the read failed. */
  user: { attributes: Record<string, unknown> } | null;
  /** A Postgres read of this request failed as a dependency failure (down, or given up at its limit). */
  databaseFailed: boolean;
}

/** `fallback` for a Postgres read not made because Postgres failed this request already: the answer is degraded, as the read's failure would have made it. */
function skipped<T>(fallback: T, d: Degraded): T {
  d.degraded = true;
  return fallback;
}

/** The read's value, or `fallback` when its store is unreachable (other errors still throw). */
function unlessDown<T>(read: Promise<T>, fallback: T, d: Degraded): Promise<T> {
  return read.catch((err: unknown) => {
    if (!dependencyFailure(err)) throw err;
    d.degraded = true;
    return fallback;
  });
}

/**
 * Marks a user as having no entries in this version's in-process cache (after an erasure deleted them
 * from the store), so the next request answers as for an unknown user without a store read.
 */
export function forgetUserEntries(model: ServingModel, userId: string): void {
  model.erasures++;
  model.erased.add(userId);
  for (const table of [USERS_TABLE, NO_PURCHASES, ...model.info.strategies.map(strategyTable)]) model.entries.set(entryKey(table, userId), null, 0);
  model.answers.forget(userId);
  // A scorer loaded (or loading) before the erasure holds the customer's rows of the fitted recommenders
  // (ALS factors, user-kNN basket) and maps their id to them: it wipes them in place, as the erasure did
  // to the stored ones. Dropping it instead made the next customer scored on request load every artifact
  // of the version again, decoded on the event loop: a stall of every request of the process.
  void model.onRequest?.then((scorer) => scorer?.forget(userId));
}

/**
 * The finished answer kept for this user and query, when the user has no live events at all (so the
 * user's entry is not needed to tell fresh purchases apart): no await, no read. Undefined otherwise.
 */
export function reusedAnswer(model: ServingModel, userId: string, q: UserQuery, live: readonly unknown[]): Recommendation | undefined {
  if (live.length > 0) return undefined;
  const strategy = q.strategy ?? 'hybrid';
  const key = answerKey(strategy, q.excludePurchased ?? !listsOwnItemsOnly(model.info, strategy), q);
  return key === undefined ? undefined : model.answers.get(userId, key);
}

/** Refuses (400) a strategy the served model does not offer; without a model every name passes (popularity answers). */
export function checkStrategy(info: ServingModel['info'] | undefined, strategy: string): void {
  if (!info || info.strategies.includes(strategy)) return;
  throw new AppError('VALIDATION_FAILED', `unknown strategy "${strategy}"; the active model offers ${info.strategies.join(', ')}`, [
    { path: 'querystring.strategy', message: `expected one of ${info.strategies.join(', ')}` },
  ]);
}

export async function recommendForUser(deps: ServingDeps, userId: string, q: UserQuery, read?: AlreadyRead): Promise<Recommendation> {
  // Not degraded for that alone: a customer the model knows is answered from the model store, as in an outage.
  const down: Degraded = { degraded: false, databaseFailed: read?.databaseFailed === true };
  const answer = await answerForUser(deps, userId, q, down, read?.user);
  if (down.degraded) return { ...answer, [DEGRADED]: true };
  return down.unlisted ? { ...answer, [UNLISTED]: true } : answer;
}

async function answerForUser(deps: ServingDeps, userId: string, q: UserQuery, down: Degraded, known?: AlreadyRead['user']): Promise<Recommendation> {
  const model = await deps.model();
  const strategy = q.strategy ?? 'hybrid';
  // Buy-again and repurchase list only what the user bought: excluding purchases would leave nothing of them.
  const excludePurchased = q.excludePurchased ?? !listsOwnItemsOnly(model?.info, strategy);
  // A customer whose erasure is owed (asked, recorded, not completed) is answered as an erased one: nothing of
  // theirs is read (entries, live events, purchases, record), so the answer is a never-seen customer's.
  if (deps.owed?.(userId)) {
    if (!model) return deps.dbPopular.recommend({ ...q, attribute: undefined, excludeBoughtBy: undefined }, { fallback: true });
    checkStrategy(model.info, strategy);
    return coldStart(deps, model, userId, q, [], down, null);
  }
  if (!model) {
    const user = known !== undefined ? (down.databaseFailed ? skipped(known, down) : known) : await unlessDown(deps.catalog.getUser(userId), null, down);
    return deps.dbPopular.recommend(
      { ...q, attribute: preferredAttribute(user?.attributes ?? {}), excludeBoughtBy: excludePurchased ? userId : undefined },
      { fallback: true },
    );
  }
  checkStrategy(model.info, strategy);
  // Erasures this process knows of before its reads: one of this customer after it is checked for below.
  const erasures = model.erasures;
  const single = strategy !== 'hybrid' && strategy !== 'popularity';
  // A version that does not store single-strategy lists scores them on request (serving-model-builder.ts).
  const stored = single && model.info.strategyLists !== 'on-request';
  // Cached entries are looked up synchronously; only misses and the live events cost a store read.
  const usersKey = entryKey(USERS_TABLE, userId);
  const singleKey = single ? entryKey(strategyTable(strategy), userId) : '';
  let entry = model.entries.get(usersKey) as UserEntry | null | undefined;
  let candidates = single ? (model.entries.get(singleKey) as Candidates | null | undefined) : null;
  const scoreList = single && !stored && candidates === undefined;
  let live: { itemId: string; ts: number }[];
  if (entry !== undefined && (candidates !== undefined || scoreList)) live = await unlessDown(deps.store.getUserEvents(userId), [], down);
  else {
    [entry, candidates, live] = await Promise.all([
      entry ?? unlessDown(readEntry(deps, model, USERS_TABLE, userId, (b) => decodeUserEntry(b, model.info.hybridSources)), null, down),
      candidates ?? (stored ? unlessDown(readEntry(deps, model, strategyTable(strategy), userId, decodeCandidates), null, down) : null),
      unlessDown(deps.store.getUserEvents(userId), [], down),
    ]);
  }
  if (!entry) {
    const cold = async (user?: { attributes: Record<string, unknown> } | null) => {
      // Erased while this read their live purchases: the read may hold some of before the erasure (which
      // has dropped them from the store since), and a cold start lists or anchors on them. Read again.
      if (model.erased.has(userId) && model.erasures !== erasures) live = await unlessDown(deps.store.getUserEvents(userId), [], down);
      return coldStart(deps, model, userId, q, live, down, user);
    };
    // A customer erased while this version is served is one it does not know (their rows are scrubbed):
    // a cold start, from their purchases since (live events). Not scored on request: until the erasure
    // commits, Postgres still holds their purchases, and each request would score the whole history
    // again (loading the version's scorer first if nobody had needed it yet).
    if (model.erased.has(userId)) return cold(down.databaseFailed ? skipped(known ?? null, down) : undefined);
    // Postgres failed this request already: their purchases cannot be read to score them, nor their record.
    if (down.databaseFailed) return cold(skipped(known ?? null, down));
    const none = model.entries.get(entryKey(NO_PURCHASES, userId)) as NoPurchases | null | undefined;
    if (none && none.until > Date.now()) return cold(none.user);
    // Known customers training did not precompute (no recent purchase) are scored now and kept.
    const { scored, list, user } = await scoreOnRequest(deps, model, userId, down, single ? strategy : undefined);
    if (!scored) return cold(user);
    entry = scored.entry;
    if (single) candidates = list ?? null;
  } else if (scoreList) {
    candidates = await strategyOnRequest(deps, model, userId, strategy, down, entry, live);
  }
  // A single strategy without a list of its own (its purchases or the version's recommenders could not be
  // had) is answered by popularity alone: a fallback, as a cold start is.
  const unlisted = single && !candidates;
  if (unlisted) down.unlisted = true;
  const user = entry;

  // Purchases since training: items not bought before, or bought again after the training data ends.
  const fresh = live.length === 0 ? NONE : liveItems(model, live, (item, ts) => ts > user.lastTs || !sortedHas(user.purchased, item));
  // The live list keeps the newest LIVE_EVENTS_KEPT purchases: full, and its oldest after the customer's last
  // in training, it may have dropped some they made since (one large order), which Postgres still has.
  // Products bought that the version does not know: their groups are left out too (unknownPurchases).
  const unknown = unknownPurchases(model, live, excludePurchased);
  const dropped = excludePurchased && live.length >= LIVE_EVENTS_KEPT && live[0].ts > user.lastTs ? await boughtSince(deps, model, userId, user.lastTs, down, model.items.groups ? unknown : undefined) : NO_ITEMS;
  // Without such purchases the answer depends on nothing but the version, the catalog and the query.
  const key = fresh.length === 0 && dropped.length === 0 && unknown.length === 0 ? answerKey(strategy, excludePurchased, q) : undefined;
  const cached = key === undefined ? undefined : model.answers.get(userId, key);
  if (key !== undefined) deps.answerLookup?.(cached !== undefined);
  if (cached) return down.degraded ? { ...cached, fallback: true } : cached;
  const freshSet = fresh.length === 0 && dropped.length === 0 ? undefined : new Set([...fresh.map((f) => f.item), ...dropped]);
  const bought = !excludePurchased
    ? undefined
    : freshSet
      ? (item: number) => sortedHas(user.purchased, item) || freshSet.has(item)
      : (item: number) => sortedHas(user.purchased, item);
  const picker = new Picker(model, itemFilter(model, q, bought), poolSize(q));
  // A product bought in any variant is left out with its purchase: its other sizes and colours too.
  if (excludePurchased) {
    picker.leaveOutGroupsOf(user.purchased);
    if (freshSet) picker.leaveOutGroupsOf(freshSet);
    await leaveOutUnknownGroups(deps, model, picker, unknown, down);
  }

  if (strategy === 'hybrid' && fresh.length === 0) {
    // The common case: the stored order as is; a Pick is made only for what is taken.
    const { items, scores, sourceMask, dominant, because } = entry.hybrid;
    for (let k = 0; k < items.length && !picker.full; k++) {
      if (picker.offer(items[k], scores[k], sourcesOfMask(model, sourceMask[k], dominant[k]))) picker.picks[picker.picks.length - 1].because = because[k];
    }
  } else if (strategy === 'hybrid') {
    for (const p of blendLive(model, entry, fresh)) if (picker.offerPick(p) && picker.full) break;
  } else if (candidates) {
    const c = candidates;
    const sources = [strategy];
    for (let k = 0; k < c.items.length && !picker.full; k++) picker.offer(c.items[k], c.scores[k], sources);
    // A list of the customer's own purchases (buy-again, repurchase) knows those of its training only: the
    // ones since follow it, newest first, as their own purchases (not as popularity backfill).
    if (fresh.length > 0 && !excludePurchased && listsOwnItemsOnly(model.info, strategy)) {
      const score = popularityRun(picker.picks);
      fresh.forEach((f, n) => picker.offer(f.item, score(fresh.length - n), sources));
    }
  }
  picker.backfillPopular(entry.segment);

  const picks = diversify(model, picker.picks, q.k, q.diversity ?? 0);
  explain(model, picks, entry, fresh);
  const answer = toRecommendation(model, strategy, down.degraded || unlisted, picks);
  // Kept only if the user's entry is still the one used: an erasure while this request awaited its
  // reads has forgotten the user (entry now null), and the answer must not outlive that. A degraded
  // answer (purchases since training unknown) is not kept, nor popularity standing in for a list that
  // could not be scored yet (the version's recommenders still loading).
  if (key !== undefined && !down.degraded && !unlisted && model.entries.get(usersKey) === entry) model.answers.set(userId, key, answer);
  return answer;
}

/**
 * One user's entry of a table: from the version's in-process cache, else one model-store read (then
 * cached, absent entries too: a published version never changes).
 */
async function readEntry<T>(deps: ServingDeps, model: ServingModel, table: string, userId: string, decode: (b: Uint8Array) => T): Promise<T | null> {
  const key = entryKey(table, userId);
  const hit = model.entries.get(key);
  if (hit !== undefined) return hit as T | null;
  const [bytes] = await deps.store.getEntries(model.meta.version, table, [userId]);
  // Erased during the read, which may have found the entry from before the scrub: it must not come back.
  if (model.erased.has(userId)) return null;
  // Own the bytes before caching views over them: a socket Buffer may be a slice of a much larger one.
  const owned = bytes && (bytes.byteOffset !== 0 || bytes.buffer.byteLength !== bytes.byteLength) ? new Uint8Array(bytes) : bytes;
  let value: T | null = null;
  try {
    value = owned ? decode(owned) : null;
  } catch (err) {
    // An entry this code cannot read (e.g. written by an older layout): answer as for an unknown user
    // rather than fail the request, and say so once per version and table.
    if (!(err instanceof ArtifactFormatError)) throw err;
    const warned = `!warned\u0000${table}`;
    if (model.entries.get(warned) === undefined) {
      model.entries.set(warned, true, 0);
      deps.log?.(`model ${model.meta.version}: unreadable ${table} entries; answering as for unknown users`, err);
    }
  }
  model.entries.set(key, value, owned?.byteLength ?? 0);
  return value;
}

/**
 * The version's on-request scorer, loaded once (on first need, or ahead of it: create-serving.ts prepares
 * a version before serving it); null when it cannot be loaded. A store that is down is tried again by a
 * later call; an unreadable version is not.
 */
export function onRequestScorerOf(deps: { store: ServingDeps['store']; log?: ServingDeps['log'] }, model: ServingModel): Promise<OnRequestScorer | null> {
  return (model.onRequest ??= loadOnRequestScorer(deps.store, model).catch((err: unknown) => {
    if (dependencyFailure(err)) model.onRequest = undefined;
    else deps.log?.(`model ${model.meta.version}: cannot score customers on request`, err);
    return null;
  }));
}

/**
 * A customer the version has no entry for, scored from their purchases by the version's own
 * recommenders (on-request-scorer.ts); null for someone without purchases (a cold start) or when the
 * version cannot score on request. The entries are cached like read ones, so the next request and the
 * answer cache treat the customer as precomputed. Also returns the customer's catalog record when it was
 * read (undefined when not), so a cold start does not read it again.
 */
async function scoreOnRequest(
  deps: ServingDeps,
  model: ServingModel,
  userId: string,
  down: Degraded,
  strategy?: string,
): Promise<{ scored: ScoredUser | null; list?: Candidates | null; user?: { attributes: Record<string, unknown> } | null }> {
  if (!deps.purchases) return { scored: null };
  const erasures = model.erasures;
  const read = await readForScoring(deps, model, userId, down);
  if (!read) return { scored: null, user: null };
  const { scorer, rows, user } = read;
  // Erased while this awaited: what was read of them is not used (the cold start).
  if (!scorer || rows.length === 0 || model.erased.has(userId)) {
    if (scorer && rows.length === 0 && !down.degraded && !model.erased.has(userId) && model.erasures === erasures) {
      const none: NoPurchases = { until: Date.now() + NO_PURCHASES_RECHECK_MS, user: user ?? null };
      model.entries.set(entryKey(NO_PURCHASES, userId), none, 64 + JSON.stringify(user?.attributes ?? {}).length * 2);
    }
    return { scored: null, user };
  }
  const scored = scorer(rows, user?.attributes ?? {});
  const stored = storedStrategies(model.info);
  const list = strategy === undefined || !scored ? undefined : stored.length > 0 ? scored.singles[stored.indexOf(strategy)] : scorer.strategy(rows, strategy, user?.attributes ?? {});
  // An erasure while this awaited may have removed what was read: answer it once, keep nothing.
  if (!scored || model.erasures !== erasures) return { scored, list, user };
  const bytes = 64 + scored.entry.hybrid.items.length * 16 + scored.entry.purchased.length * 4;
  model.entries.set(entryKey(USERS_TABLE, userId), scored.entry, bytes);
  stored.forEach((name, k) => keepList(model, name, userId, scored.singles[k]));
  if (list && stored.length === 0) keepList(model, strategy!, userId, list);
  return { scored, list, user };
}

/**
 * A known customer's list of one single strategy in a version that does not store them: scored from
 * their purchases (Postgres) by the version's loaded recommenders, then kept like a read entry. With
 * Postgres down, scored from what the version and the live events hold of their purchases (held-history.ts)
 * and not kept: the answer is degraded, as others without Postgres are, but stays a list of the strategy
 * asked for (an A/B arm does not turn into popularity for the length of an outage). Null (the answer
 * falls back to popularity) when the version's recommenders cannot be had.
 */
async function strategyOnRequest(
  deps: ServingDeps,
  model: ServingModel,
  userId: string,
  strategy: string,
  down: Degraded,
  entry: UserEntry,
  live: readonly { itemId: string; ts: number }[],
): Promise<Candidates | null> {
  if (!deps.purchases) return null;
  // Their record too: a source of the popularity family may rank by the customer's attributes.
  const read = await readForScoring(deps, model, userId, down);
  if (!read) {
    // Postgres is down. A scorer already loaded (or loading) scores what is held; an erasure since wins.
    const scorer = model.onRequest ? await waitedFor(deps, model.onRequest) : null;
    if (!scorer || model.erased.has(userId)) return null;
    // Their record is in Postgres too: the segment the version placed them in stands for their attributes.
    const segment = entry.segment >= 0 ? model.popular.segments[entry.segment] : undefined;
    return scorer.strategy(heldHistory(model, userId, entry, live), strategy, segment ? { [segment.name]: segment.value } : {});
  }
  // Erased while this awaited (or since the entry was read): nothing made of their purchases is used or kept.
  if (!read.scorer || model.erased.has(userId)) return null;
  const list = read.scorer.strategy(read.rows, strategy, read.user?.attributes ?? {});
  if (list) keepList(model, strategy, userId, list);
  return list;
}

/** A customer's list of one single strategy, kept for the version like a read entry. */
function keepList(model: ServingModel, strategy: string, userId: string, list: Candidates): void {
  model.entries.set(entryKey(strategyTable(strategy), userId), list, list.items.length * 8);
}

/**
 * The version's scorer and the customer's purchases and catalog record, read together; null when
 * Postgres is down (the answer is then degraded). A null scorer means the version cannot score on
 * request, or its store is down (degraded too).
 */
async function readForScoring(
  deps: ServingDeps,
  model: ServingModel,
  userId: string,
  down: Degraded,
): Promise<{ scorer: OnRequestScorer | null; rows: PurchaseRow[]; user?: { attributes: Record<string, unknown> } | null } | null> {
  // The model store just failed this request's reads: loading the scorer from it would wait out a second
  // timeout (4 s for a customer where the docs promise 2). A scorer already loaded still scores from Postgres.
  if (down.degraded && !model.onRequest) return { scorer: null, rows: [] };
  // Postgres failed this request already (a hang waited out once): not asked again.
  if (down.databaseFailed) return skipped(null, down);
  const loading = waitedFor(deps, onRequestScorerOf(deps, model));
  // This request's answer is degraded when the scorer could not be loaded because its store is down
  // (model.onRequest is then cleared for a later request to try again).
  const scorerLoad = loading.then((s) => {
    if (s === null && model.onRequest === undefined) down.degraded = true;
    return s;
  });
  try {
    const [scorer, rows, user] = await Promise.all([scorerLoad, deps.purchases!(userId), deps.catalog.getUser(userId)]);
    return { scorer, rows, user };
  } catch (err) {
    // Without Postgres the customer's purchases are unknown: the cold-start answer (which then finds
    // the attributes unknown too).
    if (dependencyFailure(err)) {
      down.degraded = true;
      return null;
    }
    throw err;
  }
}

/**
 * The stored hybrid candidates with neighbours of the newest live purchases blended in, by reciprocal
 * rank fusion weighted by how much of the customer's ordering is new:
 *   score = (1 - w) / (hybrid rank + 60) + w / (live rank + 60),
 *   w = min(LIVE_WEIGHT, live orders / (live orders + training orders)),
 * live orders counted as the distinct minutes of the live purchases. Ranks, not scores: the live
 * neighbours' scores are flat near their maximum while the hybrid's fall off, so blending max-normalised
 * scores half and half let one purchase fill the list and lose what the history said (bench/live-blend.ts:
 * novel NDCG@10 of the next orders 0.045-0.055 against 0.068-0.076 ignoring the purchase; 0.083-0.088
 * with this fusion).
 * An item found by both keeps the dominant source (and explanation) of the larger of the two parts;
 * live neighbours come explained by the live purchase that reached them.
 */
function blendLive(model: ServingModel, entry: UserEntry, fresh: readonly { item: number; ts: number }[]): Pick[] {
  const { items, scores, sourceMask, dominant, because } = entry.hybrid;
  const anchors = fresh.slice(0, LIVE_ANCHORS).map((f, r) => ({ item: f.item, weight: 1 / (1 + r) }));
  const live = scoreByNeighbours(model, anchors, LIVE_SOURCES, BECAUSE_YOU_BOUGHT);
  // Purchases within a minute of each other are one order (a client may stamp each item of a checkout).
  const liveOrders = new Set(fresh.map((f) => Math.floor(f.ts / 60_000))).size;
  const w = Math.min(LIVE_WEIGHT, liveOrders / (liveOrders + entry.orders));
  const merged = new Map<number, Pick>();
  for (let k = 0; k < items.length; k++) {
    const score = (1 - w) / (k + RANK_OFFSET);
    merged.set(items[k], { item: items[k], score, sources: sourcesOfMask(model, sourceMask[k], dominant[k]), because: because[k] });
  }
  for (const [r, p] of live.entries()) {
    const score = w / (r + RANK_OFFSET);
    const seen = merged.get(p.item);
    if (!seen) merged.set(p.item, { ...p, score });
    else {
      const [first, second] = score > seen.score ? [{ ...p, score }, seen] : [seen, p];
      merged.set(p.item, { ...first, score: seen.score + score, sources: [...new Set([...first.sources, ...second.sources])] });
    }
  }
  const fused = [...merged.values()].sort((a, b) => b.score - a.score || a.item - b.item);
  // The fusion decides the order; each pick then gets the hybrid's score at its rank, so `score` and the
  // relevance diversity weighs keep the scale and fall-off of a list without live purchases (fused
  // scores, 1 / (r + 60), hardly fall over a page).
  const n = scores.length;
  return fused.map((p, j) => ({ ...p, score: j < n ? scores[j] : n > 0 ? (scores[n - 1] * n) / (j + 1) : 1 / (j + 1) }));
}

/**
 * Explanations from each pick's dominant source (explanations.ts): live neighbours come explained by
 * the live purchase that reached them; stored candidates name the anchor found at training time, or
 * one found now among the purchases since training and the latest ones before; single strategies are
 * searched now; popularity, trend and buy-again say so.
 */
function explain(model: ServingModel, picks: Pick[], entry: UserEntry, fresh: readonly { item: number }[]): void {
  const anchors = fresh.length === 0 ? entry.recentItems : [...fresh.map((f) => f.item), ...entry.recentItems];
  explainPicks(model, picks, anchors, entry.segment, fresh.length > 0);
}

/**
 * A user the model has not seen (created after training, or unknown): their live purchases as a
 * context when they have some, then the popularity of their attribute segment (from Postgres
 * attributes), then global popularity. Always `fallback: true`. A list of the customer's own purchases
 * (buy-again, repurchase) keeps them by default, as for a known customer: all this one's are since
 * training, and open the list, newest first, as the strategy's own.
 */
async function coldStart(
  deps: ServingDeps,
  model: ServingModel,
  userId: string,
  q: UserQuery,
  live: readonly { itemId: string; ts: number }[],
  down: Degraded,
  known?: { attributes: Record<string, unknown> } | null,
): Promise<Recommendation> {
  // Without Postgres the user's attributes are unknown: global popularity.
  const user = known !== undefined ? known : await unlessDown(deps.catalog.getUser(userId), null, down);
  const segment = findSegment(model.popular, user?.attributes ?? {});
  const fresh = liveItems(model, live);
  const strategy = q.strategy ?? 'hybrid';
  const ownItems = listsOwnItemsOnly(model.info, strategy);
  const excludePurchased = q.excludePurchased ?? !ownItems;
  // A full live list may have dropped purchases (the warm path's note): all of theirs Postgres has.
  const unknown = unknownPurchases(model, live, excludePurchased);
  const dropped = excludePurchased && live.length >= LIVE_EVENTS_KEPT ? await boughtSince(deps, model, userId, null, down, model.items.groups ? unknown : undefined) : NO_ITEMS;
  const freshSet = new Set([...fresh.map((f) => f.item), ...dropped]);
  const bought = excludePurchased ? (item: number) => freshSet.has(item) : undefined;
  const picker = new Picker(model, itemFilter(model, q, bought), poolSize(q));
  if (excludePurchased) {
    picker.leaveOutGroupsOf(freshSet);
    // Products bought that the version does not know: their groups, as the catalog says.
    await leaveOutUnknownGroups(deps, model, picker, unknown, down);
  }
  // Their purchases scored as the warm path scores those since training (answerForUser).
  if (ownItems && !excludePurchased && fresh.length > 0) {
    const score = popularityRun(picker.picks);
    const sources = [strategy];
    fresh.forEach((f, n) => picker.offer(f.item, score(fresh.length - n), sources, BOUGHT_BEFORE));
  }
  const own = picker.picks.length;
  if (fresh.length > 0 && !picker.full) {
    const anchors = fresh.slice(0, LIVE_ANCHORS).map((f, r) => ({ item: f.item, weight: 1 / (1 + r) }));
    // Below the customer's own items when they open the list: scores never rise down a list.
    const score = own > 0 ? popularityRun(picker.picks) : (s: number) => s;
    // A cold start's purchases since training are scored as a context list scores its items.
    for (const p of scoreByNeighbours(model, anchors, CONTEXT_SOURCES, BECAUSE_YOU_BOUGHT)) {
      if (picker.offer(p.item, score(p.score), p.sources, p.explanation) && picker.full) break;
    }
  }
  const fromContext = picker.picks.length > own;
  picker.backfillPopular(segment);
  // Labelled with the source that opens it (README: a list with nothing of the strategy names what filled it).
  const label = own > 0 ? strategy : fromContext ? 'context' : 'popularity';
  return toRecommendation(model, label, true, diversify(model, picker.picks, q.k, q.diversity ?? 0));
}
