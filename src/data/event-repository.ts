import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Db } from './db.js';
import { ERASURE_LOCK, ERASURE_SERIAL, INGEST_LOCK, OWED_IDS_SQL } from './erasure-repository.js';
import { daysToRecount, markRecount } from './feedback-rollup.js';
import type { PurchaseRow } from '../recommenders/dataset.js';
import { allocateReturns, type ReturnLine } from './return-allocation.js';
import { badCursor, cursorId, cursorMicros, cursorTag, decodeCursor, encodeCursor, listTag, microsOf, timestampOfMicros } from './list-cursor.js';
import { readSecret, RECOMMENDATION_ID_SECRET } from './secret-repository.js';
import { userTag, verifyRecommendationToken } from '../serving/recommendation-token.js';

/** A cursor of a customer's purchases: the last one's time (microseconds) and event id. */
/** What a cursor of a customer's purchases holds: the customer's tag, the last purchase's time and event id. */
const PURCHASE_CURSOR = z.strictObject({ u: cursorTag, k: cursorMicros, id: cursorId });

export interface PurchaseInput {
  /** Client-supplied id; when absent one is derived from the event's content (see deriveEventIds). */
  eventId?: string;
  userId: string;
  itemId: string;
  quantity: number;
  price?: number | null;
  orderId?: string | null;
  ts: Date;
}

export interface PurchaseRecord {
  eventId: string;
  userId: string;
  itemId: string;
  quantity: number;
  price: number | null;
  orderId: string | null;
  ts: string;
  /** The item's catalog title, when it has one (read-back only). */
  title?: string;
}

/**
 * A return (migration 033): units of an item the customer sent back or cancelled. Purchases are read net of
 * returns by data/return-allocation.ts's rule (its customer and item, at or before it, the order it names,
 * latest first).
 */
export interface ReturnInput {
  /** Client-supplied id; when absent one is derived from the event's content (see deriveEventIds). */
  eventId?: string;
  userId: string;
  itemId: string;
  quantity: number;
  /** The order the units were bought in, when known. */
  orderId?: string | null;
  ts: Date;
}

/**
 * Events that show intent without being a sale (issue 14). They feed training (item-kNN, ALS,
 * co-occurrence, weighted by the recipe's `eventWeights`) and session recommendations, never
 * buy-again, RFM or profiles, which read purchase_events only.
 */
export const INTERACTION_TYPES = ['view', 'add_to_cart', 'rating'] as const;
export type InteractionType = (typeof INTERACTION_TYPES)[number];
/** The smallint stored in interaction_events.type (1-based, in INTERACTION_TYPES order). */
export const interactionCode = (t: InteractionType) => INTERACTION_TYPES.indexOf(t) + 1;

export interface InteractionInput {
  eventId?: string;
  userId: string;
  itemId: string;
  type: InteractionType;
  /** The rating (1..5) of a `rating`; absent for the other types. */
  value?: number | null;
  ts: Date;
}

export type FeedbackType = 'impression' | 'click' | 'add_to_cart' | 'purchase';

export interface FeedbackInput {
  eventId?: string;
  userId: string;
  itemId: string;
  type: FeedbackType;
  recommendationId?: string | null;
  strategy?: string | null;
  /** The experiment and arm that gave the recommendation (echoed from the response's `experiment`). */
  experimentId?: string | null;
  arm?: string | null;
  /** The campaign (export) that showed the recommendation. */
  campaignId?: string | null;
  ts: Date;
}

/**
 * Gives every event without a client id a stable id from its content. Identical events in one batch
 * (the same line twice in a file) are told apart by their occurrence number, so a file keeps all its
 * rows and importing it again derives the same ids: a retry adds nothing twice.
 */
export function deriveEventIds<T extends { eventId?: string }>(events: T[], content: (e: T) => string): string[] {
  const seen = new Map<string, number>();
  return events.map((e) => {
    if (e.eventId) return e.eventId;
    const key = content(e);
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    return createHash('sha1').update(`${key}#${n}`).digest('base64url');
  });
}

/**
 * A field of the derived-id content: `\` and `|` are escaped, so user "a|b" with item "c" and user "a"
 * with item "b|c" stay two events. Ids without those characters read as they always did.
 */
const field = (v: string | number | null | undefined) => String(v ?? '').replace(/[\\|]/g, (c) => `\\${c}`);

/** The content a purchase's derived id is computed from (importers derive the same ids). */
export const purchaseContent = (e: PurchaseInput, tsIso = e.ts.toISOString()) =>
  `p|${field(e.userId)}|${field(e.itemId)}|${field(e.orderId)}|${tsIso}|${e.quantity}|${e.price ?? ''}`;
/** The content a return's derived id is computed from (importers derive the same ids). */
export const returnContent = (e: ReturnInput, tsIso = e.ts.toISOString()) => `r|${field(e.userId)}|${field(e.itemId)}|${field(e.orderId)}|${tsIso}|${e.quantity}`;
/** The content an interaction's derived id is computed from (the generic importer derives the same ids). */
export const interactionContent = (e: InteractionInput, tsIso = e.ts.toISOString()) =>
  `i|${e.type}|${field(e.userId)}|${field(e.itemId)}|${tsIso}|${e.value ?? ''}`;

/** The labels a served list carried, read from its signed recommendationId (serving/recommendation-ids.ts). */
export interface ServedLabels {
  strategy: string | null;
  experiment?: { id: string; arm: string };
  /** The list was made for the event's customer, or for no customer (an item's similar items): its events count once per item and type. */
  own: boolean;
}

/** How the labels of a browser's (frontend key's) feedback are checked: see keepKnownLabels. */
export interface BrowserLabelRule {
  /** Strategies a list of this service may carry (serving's servedStrategies). */
  strategies: ReadonlySet<string>;
  /**
   * The labels of the list a recommendationId names when the service signed it (and it is recent), as
   * feedback from customer `userId` may carry them (an arm only on their own list); else null.
   */
  served: (recommendationId: string | null | undefined, userId: string) => ServedLabels | null;
  /**
   * When the list a recommendationId names was made for customer `userId` (a personal list the service
   * signed, however old), else null: feedback on a list made before the customer's erasure is theirs.
   */
  personalSince?: (recommendationId: string | null | undefined, userId: string) => number | null;
}

/**
 * The events with their labels as far as they are known. An event naming a recommendationId the service
 * signed gets that list's strategy, experiment and arm, whatever it sent for them (the arm only from the
 * customer the list was made for). Any other event has no experiment nor arm (a stored arm's name is no
 * proof the list was the arm's: anyone holding the public key could skew an A/B test), and a strategy
 * outside `strategies` becomes none; a campaign no export was made for becomes none too. `unknownLabels`
 * counts the events that lost or had changed a label they sent. The event itself is kept: its click or
 * sale still counts in the totals.
 *
 * An event on a signed list of its own customer (or of none) gets a key of the list, its item and its type
 * (listKey), unique among stored events: a list counts one click (one impression, one add to cart) per
 * item, so a token copied from one page cannot be replayed as any number of clicks. The event keeps its
 * own id, which still dedupes a backend replaying it under that id. Another customer's event on a
 * customer's list gets no key (nor an arm): it cannot take the place of the customer's own.
 */
async function keepKnownLabels(
  tx: Db,
  events: FeedbackInput[],
  rule: BrowserLabelRule,
): Promise<{ events: FeedbackInput[]; listKeys: (string | null)[]; listSince: (number | null)[]; unknownLabels: number }> {
  const campaignIds = [...new Set(events.flatMap((e) => e.campaignId ?? []))];
  const campaigns = new Set<string>();
  if (campaignIds.length > 0) {
    const { rows } = await tx.query<{ id: string }>('SELECT id FROM campaigns WHERE id = ANY($1::text[])', [campaignIds]);
    for (const r of rows) campaigns.add(r.id);
  }
  let unknownLabels = 0;
  const listKeys = events.map(() => null as string | null);
  const listSince = events.map(() => null as number | null);
  const kept = events.map((e, k) => {
    let strategy = e.strategy ?? null;
    let [experimentId, arm] = [e.experimentId ?? null, e.arm ?? null];
    let lost = false;
    const served = rule.served(e.recommendationId, e.userId);
    if (served?.own) listKeys[k] = listKey(e);
    listSince[k] = rule.personalSince?.(e.recommendationId, e.userId) ?? null;
    if (served?.strategy != null) {
      lost ||= strategy !== null && strategy !== served.strategy;
      strategy = served.strategy;
    } else if (strategy !== null && !rule.strategies.has(strategy)) {
      lost = true;
      strategy = null;
    }
    const [servedId, servedArm] = [served?.experiment?.id ?? null, served?.experiment?.arm ?? null];
    lost ||= experimentId !== null && (experimentId !== servedId || arm !== servedArm);
    [experimentId, arm] = served ? [servedId, servedArm] : [null, null];
    const campaignKnown = e.campaignId == null || campaigns.has(e.campaignId);
    if (lost || !campaignKnown) unknownLabels++;
    if (strategy === (e.strategy ?? null) && experimentId === (e.experimentId ?? null) && arm === (e.arm ?? null) && campaignKnown) return e;
    return { ...e, strategy, experimentId, arm, ...(campaignKnown ? {} : { campaignId: null }) };
  });
  return { events: kept, listKeys, listSince, unknownLabels };
}

/** The key of a browser's event on a signed list: one per list, item and type (keepKnownLabels). */
const listKey = (e: FeedbackInput) => createHash('sha1').update(`${field(e.recommendationId)}|${field(e.itemId)}|${e.type}`).digest('base64url');

const feedbackContent = (e: FeedbackInput) =>
  `f|${field(e.userId)}|${field(e.itemId)}|${e.type}|${field(e.recommendationId)}|${e.ts.toISOString()}`;

/**
 * Creates users and items referenced by events that the catalog does not know yet, and returns the ids
 * of the customer rows it created. Ids are inserted in sorted order so two concurrent batches (an import
 * and the API) lock new rows in the same order and cannot deadlock; every insert of events and every
 * catalog upsert is ordered by id for the same reason.
 */
async function ensureReferenced(tx: Db, userIds: string[], itemIds: string[], madeBy: 'events' | 'feedback' = 'events'): Promise<string[]> {
  // Each id once on the wire (a batch of 5,000 purchases names a few hundred customers); the order is the database's.
  // A row feedback makes is marked: the retention sweep may delete it once it holds nothing (feedback-retention.ts).
  const { rows } = await tx.query<{ id: string }>(
    'INSERT INTO users (id, made_by_feedback) SELECT DISTINCT u, $2::boolean FROM unnest($1::text[]) AS u ORDER BY u ON CONFLICT DO NOTHING RETURNING id',
    [[...new Set(userIds)], madeBy === 'feedback'],
  );
  await tx.query('INSERT INTO items (id) SELECT DISTINCT i FROM unnest($1::text[]) AS i ORDER BY i ON CONFLICT DO NOTHING', [[...new Set(itemIds)]]);
  return rows.map((r) => r.id);
}

/**
 * Which events of a batch an erasure claims (notErased below), by index: those of erased customers dated at
 * or before their erasure (erased_users), or carrying the id of an event it deleted (erased_event_ids: a replay
 * dated later), or naming a list made for them before it (`listSince`). One statement when no customer of the
 * batch is erased, two at most.
 */
async function erasedIndices<T extends { userId: string; ts: Date }>(
  q: Pick<Db, 'query'>,
  batch: readonly T[],
  batchIds: readonly string[],
  listSince?: readonly (number | null)[],
): Promise<Set<number>> {
  const { rows } = await q.query<{ user_id: string; erased_at: Date }>('SELECT user_id, erased_at FROM erased_users WHERE user_id = ANY($1::text[])', [
    [...new Set(batch.map((e) => e.userId))],
  ]);
  if (rows.length === 0) return new Set();
  const erasedAt = new Map(rows.map((r) => [r.user_id, new Date(r.erased_at).getTime()]));
  const since = (e: T, k: number) => Math.min(e.ts.getTime(), listSince?.[k] ?? Number.POSITIVE_INFINITY);
  const dropped = new Set(batch.flatMap((e, k) => (since(e, k) <= (erasedAt.get(e.userId) ?? Number.NEGATIVE_INFINITY) ? [k] : [])));
  // An erased customer's event dated after the erasure is theirs anew, unless its id is one the erasure deleted.
  const hashes = new Map(
    batch.flatMap((e, k) => (!dropped.has(k) && erasedAt.has(e.userId) ? [[k, createHash('sha256').update(batchIds[k], 'utf8').digest('hex')] as const] : [])),
  );
  const { rows: gone } =
    hashes.size === 0
      ? { rows: [] }
      : await q.query<{ h: string }>(
          "SELECT encode(id_hash, 'hex') AS h FROM erased_event_ids WHERE id_hash = ANY(ARRAY(SELECT decode(x, 'hex') FROM unnest($1::text[]) AS x))",
          [[...hashes.values()]],
        );
  const replayed = new Set(gone.map((r) => r.h));
  for (const [k, h] of hashes) if (replayed.has(h)) dropped.add(k);
  return dropped;
}

/**
 * The events to store of a batch, with their ids: all but those an erasure claims (erasedIndices), counted
 * as `erased`: an old file imported again, or a replayed batch, must not bring an erased history back. What
 * such a customer does after the erasure is a new customer's and is stored.
 */
async function notErased<T extends { userId: string; ts: Date }>(
  tx: Db,
  batch: T[],
  batchIds: string[],
  listSince?: readonly (number | null)[],
): Promise<{ events: T[]; ids: string[]; erased: number }> {
  // Waits for the last part of an erasure under way (erasure-repository ERASURE_LOCK), so its row is read
  // here and its customer's old events are not written after it; other ingestion does not wait.
  await tx.query(INGEST_LOCK);
  const dropped = await erasedIndices(tx, batch, batchIds, listSince);
  if (dropped.size === 0) return { events: batch, ids: batchIds, erased: 0 };
  const kept = batch.flatMap((_, k) => (dropped.has(k) ? [] : [k]));
  return { events: kept.map((k) => batch[k]), ids: kept.map((k) => batchIds[k]), erased: dropped.size };
}

/** How long an erasure keeps the hashed ids of the events it deleted (erased_event_ids): retries, and events dated ahead. */
export const ERASED_EVENT_IDS_DAYS = 7;

/**
 * A row written by a transaction that the snapshot `$2` (pg_current_snapshot()) did not see: in progress when
 * it was taken, or begun after (an xid at or past its xmax; age() compares 32-bit xids modulo 2^32, as Postgres
 * does, so a wrapped-around old row may be taken too: hashed twice, no harm). Ingestion uses no savepoints, so
 * a row's xmin is its top-level transaction's.
 */
const UNSEEN_BY_SNAPSHOT = `(xmin::text IN (SELECT (x::text::bigint % 4294967296)::text FROM pg_snapshot_xip($2::pg_snapshot) AS x)
  OR age(xmin) <= age((pg_snapshot_xmax($2::pg_snapshot)::text::bigint % 4294967296)::text::xid))`;

/**
 * Keeps SHA-256 hashes of the ids of these customers' events (all, or those written by transactions the
 * snapshot `unseenBy` did not see), and of the purchases their purchase feedback records (`feedback:<id>`,
 * written in a transaction of its own: an erasure may fall between the two), dated now: an id another
 * customer's older erasure kept too (ids are unique per table only) is kept for this erasure's full time.
 */
async function keepErasedIds(tx: Db, ids: string[], unseenBy: string | null): Promise<void> {
  const when = unseenBy === null ? '' : ` AND ${UNSEEN_BY_SNAPSHOT}`;
  await tx.query(
    `INSERT INTO erased_event_ids (id_hash, erased_at)
     SELECT h, now() FROM (
       SELECT sha256(convert_to(event_id, 'UTF8')) AS h FROM purchase_events WHERE user_id = ANY($1::text[])${when}
       UNION SELECT sha256(convert_to(event_id, 'UTF8')) FROM interaction_events WHERE user_id = ANY($1::text[])${when}
       UNION SELECT sha256(convert_to(event_id, 'UTF8')) FROM return_events WHERE user_id = ANY($1::text[])${when}
       UNION SELECT sha256(convert_to(event_id, 'UTF8')) FROM feedback_events WHERE user_id = ANY($1::text[])${when}
       UNION SELECT sha256(convert_to('feedback:' || event_id, 'UTF8')) FROM feedback_events WHERE user_id = ANY($1::text[]) AND type = 'purchase'${when}
     ) AS deleted
     ON CONFLICT (id_hash) DO UPDATE SET erased_at = EXCLUDED.erased_at`,
    unseenBy === null ? [ids] : [ids, unseenBy],
  );
}

/**
 * Deletes the hashed ids of erasures older than ERASED_EVENT_IDS_DAYS; returns how many. A hash an erasure
 * under way is dating anew (keepErasedIds) is locked by it to its commit: skipped, not waited for (the erasure
 * may itself wait for a hash this delete holds: a deadlock a review reproduced), and kept by the new date.
 */
export async function forgetErasedIds(db: Db, now: Date = new Date()): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `WITH d AS (
       DELETE FROM erased_event_ids WHERE id_hash IN (SELECT id_hash FROM erased_event_ids WHERE erased_at < $1 FOR UPDATE SKIP LOCKED) RETURNING 1
     ) SELECT count(*)::int AS n FROM d`,
    [new Date(now.getTime() - ERASED_EVENT_IDS_DAYS * 86_400_000).toISOString()],
  );
  return rows[0].n;
}

/** What an erasure does inside its transaction besides Postgres (user-erasure.ts): the model store and files, then the live events. */
export interface ErasureSteps {
  /**
   * The process driving these erasures (its token and ':', migration 039): only the customers whose request
   * (erasure_requests) it holds are erased. One whose request is gone was completed by another process (the customer
   * may have come back since: nothing of theirs is touched; answered as erased before or unknown), unless it is one
   * of `answered`; one held by another process, or by nobody (its lease ran out here and another took it) is left to
   * it, and named to `taken`. Without it, every customer named is erased.
   */
  owner?: string;
  /**
   * The customers a caller waits on (a DELETE's, not a re-driven one's): one whose request is gone (completed by
   * another turn, of this process or another, after this DELETE was recorded) and of whom Postgres holds anything again
   * is erased again all the same, and named to `redone` (one of whom it holds nothing is answered as before): what was written of the customer between that turn and this answer goes too, so after a 204 nothing
   * written before it is left (README "Erasure").
   */
  answered?: ReadonlySet<string>;
  /** The customers of `answered` erased again though their request was gone (it is not there to note a failure on). */
  redone?: (userIds: string[]) => void;
  /** The customers left to another process (see `owner`): not in the answer's map. */
  taken?: (userIds: string[]) => void;
  /** Scrubs what lies outside Postgres (the model store, export files) of `userIds`; `tx` is the erasure's transaction, which holds its lock. */
  scrub?: (tx: Db, userIds: readonly string[]) => Promise<void>;
  /**
   * After the erasure is numbered in erased_users: `before`, the highest number before it (0 for none), and
   * `after`, the highest now (the same when nothing was recorded). The erasures between are this one's.
   */
  numbered?: (before: number, after: number) => Promise<void>;
  dropLive?: (userIds: readonly string[]) => Promise<void>;
}

/**
 * Runs inside a purchase write, after it and before its commit, with the events it stored (each once, as
 * stored). It must not throw (the write would roll back) nor wait on the database (PGlite: one connection).
 */
export type BeforeCommit = (stored: PurchaseInput[]) => Promise<void>;

/**
 * The batch's first event of each id, with its id, in the batch's order: of two rows with one id in an
 * insert, which one ON CONFLICT DO NOTHING keeps is not defined (Postgres's sort of the insert does not keep
 * the batch's order among equal ids). A later one is a duplicate, as the same id sent again in a retry is.
 * Every event write stores this one, and what follows from it (purchase feedback's purchase) does too.
 */
/** A purchase stored as feedback (POST /v1/feedback with a write key), which is also a purchase event. */
export interface StoredPurchaseFeedback {
  eventId: string;
  userId: string;
  itemId: string;
  ts: Date;
}

export function firstOfEachId<T>(events: readonly T[], ids: readonly string[]): { events: T[]; ids: string[] } {
  const first = new Map<string, T>();
  for (const [k, id] of ids.entries()) if (!first.has(id)) first.set(id, events[k]);
  return { events: [...first.values()], ids: [...first.keys()] };
}

/**
 * Inserts purchases whose ids are fixed, in one transaction with the users and items they name;
 * returns the ids that were new, or (`returning` false, for bulk imports) only how many were.
 */
async function writePurchases(db: Db, batch: PurchaseInput[], batchIds: string[], returning: true, beforeCommit?: BeforeCommit): Promise<{ written: Set<string>; erased: number }>;
async function writePurchases(db: Db, batch: PurchaseInput[], batchIds: string[], returning: false): Promise<{ written: number; erased: number }>;
async function writePurchases(db: Db, batch: PurchaseInput[], batchIds: string[], returning: boolean, beforeCommit?: BeforeCommit): Promise<{ written: Set<string> | number; erased: number }> {
  return db.transaction(async (tx) => {
    const notGone = await notErased(tx, batch, batchIds);
    const { erased } = notGone;
    const { events, ids } = firstOfEachId(notGone.events, notGone.ids);
    if (events.length === 0) return { written: returning ? new Set<string>() : 0, erased };
    await ensureReferenced(tx, events.map((e) => e.userId), events.map((e) => e.itemId));
    const insert = `INSERT INTO purchase_events (event_id, user_id, item_id, quantity, price, order_id, ts)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::float8[], $6::text[], $7::timestamptz[]) AS e(id) ORDER BY id
       ON CONFLICT (event_id) DO NOTHING RETURNING event_id`;
    const { rows } = await tx.query(returning ? insert : `WITH inserted AS (${insert}) SELECT count(*)::int AS n FROM inserted`, [
      ids,
      events.map((e) => e.userId),
      events.map((e) => e.itemId),
      events.map((e) => e.quantity),
      events.map((e) => e.price ?? null),
      events.map((e) => e.orderId ?? null),
      events.map((e) => e.ts.toISOString()),
    ]);
    if (!returning) return { written: (rows[0] as { n: number }).n, erased };
    const written = new Set(rows.map((r) => (r as { event_id: string }).event_id));
    if (written.size > 0) await beforeCommit?.(events.filter((_, k) => written.has(ids[k])));
    return { written, erased };
  });
}

/** Inserts interactions whose ids are fixed, with the users and items they name; returns how many were new. */
async function writeInteractions(db: Db, batch: InteractionInput[], batchIds: string[]): Promise<{ inserted: number; erased: number }> {
  return db.transaction(async (tx) => {
    const notGone = await notErased(tx, batch, batchIds);
    const { erased } = notGone;
    const { events, ids } = firstOfEachId(notGone.events, notGone.ids);
    if (events.length === 0) return { inserted: 0, erased };
    await ensureReferenced(tx, events.map((e) => e.userId), events.map((e) => e.itemId));
    const { rows } = await tx.query<{ n: number }>(
      `WITH inserted AS (
         INSERT INTO interaction_events (event_id, user_id, item_id, type, value, ts)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::real[], $6::timestamptz[]) AS e(id) ORDER BY id
         ON CONFLICT (event_id) DO NOTHING RETURNING 1)
       SELECT count(*)::int AS n FROM inserted`,
      [
        ids,
        events.map((e) => e.userId),
        events.map((e) => e.itemId),
        events.map((e) => interactionCode(e.type)),
        events.map((e) => (e.type === 'rating' ? (e.value ?? null) : null)),
        events.map((e) => e.ts.toISOString()),
      ],
    );
    return { inserted: rows[0].n, erased };
  });
}

/** Inserts returns whose ids are fixed, with the users and items they name; returns the ids that were new. */
/** A return beyond what its customer bought and has not returned: its index in the batch and the units left unmatched. */
export interface RefusedReturn {
  k: number;
  units: number;
}

/**
 * A customer's returns are checked and written one batch at a time (two batches returning the one unit bought, sent
 * at once, both passed a check made before either was written). Transaction-scoped advisory locks of the
 * two-key form (a space of their own), one per customer, taken in id order so two batches never wait on each other
 * crosswise; PGlite has them too.
 */
const RETURN_CUSTOMER_LOCKS = `SELECT pg_advisory_xact_lock(7262361, hashtext(u)) FROM unnest($1::text[]) WITH ORDINALITY AS x(u, n) ORDER BY n`;

/**
 * Of `events` (not stored yet), the units each would take nothing off: what its customer bought of its item at or
 * before it (in the order it names) and the stored returns (allocated first, whatever their dates), and the batch's
 * returns before it, have not left. 0 for a
 * return matched whole. Read with the returns' stored ids left out, so a batch sent again is answered as it was
 * the first time.
 */
async function unmatchedIn(q: Pick<Db, 'query'>, events: readonly ReturnInput[], ids: readonly string[]): Promise<number[]> {
  if (events.length === 0) return [];
  const users = [...new Set(events.map((e) => e.userId))];
  const items = [...new Set(events.map((e) => e.itemId))];
  const ms = 'extract(epoch FROM ts) * 1000';
  // Sequential: a transaction's client runs one query at a time. Ordered by time and id: allocation breaks ties in
  // time by the order given, which must not depend on where Postgres's scan began.
  const { rows: bought } = await q.query<{ u: string; i: string; o: string | null; q: number; t: number }>(
    `SELECT user_id AS u, item_id AS i, order_id AS o, quantity AS q, (${ms})::float8 AS t FROM purchase_events
     WHERE user_id = ANY($1::text[]) AND item_id = ANY($2::text[]) ORDER BY ts, event_id`,
    [users, items],
  );
  const { rows: stored } = await q.query<{ u: string; i: string; o: string | null; q: number; t: number }>(
    `SELECT user_id AS u, item_id AS i, order_id AS o, quantity AS q, (${ms})::float8 AS t FROM return_events
     WHERE user_id = ANY($1::text[]) AND item_id = ANY($2::text[]) AND NOT (event_id = ANY($3::text[])) ORDER BY ts, event_id`,
    [users, items, [...ids]],
  );
  const line = (r: { u: string; i: string; o: string | null; q: number; t: number }) => ({ userId: r.u, itemId: r.i, orderId: r.o, quantity: r.q, ts: r.t });
  // The stored returns keep what they took: the batch is matched against what they leave. Allocated all together,
  // a batch's return dated before a stored one took its unit first and left the stored one unmatched, so two
  // batches returning the one unit bought were both accepted when the later-sent one was dated earlier.
  const purchases = bought.map(line);
  const { taken } = allocateReturns(purchases, stored.map(line));
  const left = purchases.map((p, k) => ({ ...p, quantity: p.quantity - taken[k] }));
  const batch: ReturnLine[] = events.map((e) => ({ userId: e.userId, itemId: e.itemId, orderId: e.orderId ?? null, quantity: e.quantity, ts: e.ts.getTime() }));
  return Array.from(allocateReturns(left, batch).unmatched);
}

/**
 * Inserts returns whose ids are fixed, in one transaction with the users and items they name. With `refuse`, each
 * new return (the first of its id in the batch; a copy is a duplicate) is checked against what its customer bought
 * (unmatchedIn) under its customers' locks, in the transaction that writes it: when any is beyond it, nothing is
 * written and `refuse` makes the error thrown.
 */
async function writeReturns(db: Db, batch: ReturnInput[], batchIds: string[], refuse?: (refused: RefusedReturn[]) => Error): Promise<{ written: Set<string>; erased: number }> {
  return db.transaction(async (tx) => {
    if (refuse) await tx.query(RETURN_CUSTOMER_LOCKS, [[...new Set(batch.map((e) => e.userId))].sort()]);
    // Waits for the last part of an erasure under way (erasure-repository ERASURE_LOCK), as notErased does.
    await tx.query(INGEST_LOCK);
    const dropped = await erasedIndices(tx, batch, batchIds);
    const seen = new Set<string>();
    const kept = batch.flatMap((_, k) => (dropped.has(k) || seen.has(batchIds[k]) || !seen.add(batchIds[k]) ? [] : [k]));
    if (refuse) {
      const unmatched = await unmatchedIn(tx, kept.map((k) => batch[k]), kept.map((k) => batchIds[k]));
      const refused = kept.flatMap((k, j) => (unmatched[j] > 0 ? [{ k, units: unmatched[j] }] : []));
      if (refused.length > 0) throw refuse(refused);
    }
    const erased = dropped.size;
    const events = kept.map((k) => batch[k]);
    const ids = kept.map((k) => batchIds[k]);
    if (events.length === 0) return { written: new Set<string>(), erased };
    await ensureReferenced(tx, events.map((e) => e.userId), events.map((e) => e.itemId));
    const { rows } = await tx.query<{ event_id: string }>(
      `INSERT INTO return_events (event_id, user_id, item_id, quantity, order_id, ts)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::timestamptz[]) AS e(id) ORDER BY id
       ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
      [ids, events.map((e) => e.userId), events.map((e) => e.itemId), events.map((e) => e.quantity), events.map((e) => e.orderId ?? null), events.map((e) => e.ts.toISOString())],
    );
    return { written: new Set(rows.map((r) => r.event_id)), erased };
  });
}

/** An interaction as training reads it: ids, type, rating value (NaN for none) and epoch-ms time. */
export interface InteractionRow {
  userId: string;
  itemId: string;
  type: InteractionType;
  value: number;
  ts: number;
}

type InteractionRowRecord = { u: string; i: string; k: number; v: number | null; t: number };

/** A purchase window [from, to), optionally of one user. */
export interface PurchaseWindow {
  from?: Date;
  to?: Date;
  userId?: string;
  /** Of these users only (one query for many: batched-reads.ts). */
  userIds?: readonly string[];
  /**
   * Net of the returns dated before this (default: all the window's returns, those before `to`). An evaluation
   * passes its cutoff: what was returned after it was still bought as far as its training side could know.
   */
  returnsBefore?: Date;
  /**
   * Net only of the returns stored (created_at) by this time: a profile refreshed after a training sees the returns
   * that training saw, not those sent since (seen from the next training on).
   */
  returnsStoredBy?: Date;
}

type PurchaseRowRecord = { u: string; i: string; o: string | null; t: number; q: number; p: number | null };
/** A purchase row with its event id (`id`): the reads net of returns match returned units to purchases by it. */
type PurchaseIdRecord = PurchaseRowRecord & { id: string };

/** The user condition of a window's read, on column `column`, as parameter `$at`. */
function userCondition(window: PurchaseWindow, column: string, at: number): { where: string; param: unknown[] } {
  const { userId, userIds } = window;
  // A literal user_id condition (not "$3 IS NULL OR ...") lets the planner use the (user_id, ts) index.
  if (userId !== undefined) return { where: `AND ${column} = $${at}`, param: [userId] };
  if (userIds !== undefined) return { where: `AND ${column} = ANY($${at}::text[])`, param: [userIds] };
  return { where: '', param: [] };
}

const PURCHASE_COLUMNS = `user_id AS u, item_id AS i, order_id AS o, (extract(epoch FROM ts) * 1000)::float8 AS t, quantity AS q, price AS p`;

/**
 * The purchases of a window, by time and then event id: a total order, the same however the table's rows
 * lie. The readers (a training's dataset, an evaluation's split, tuning's folds) order purchases by time
 * and keep the read order among those of one timestamp (an invoice's lines), so an unordered read made
 * results depend on where Postgres's scan began (synchronize_seqscans joins a scan already running) or on
 * rows an update moved: tuned weights differed in the 4th decimal. Cost: bench/README.md "Purchases read in
 * a total order". The order is by `t`, the selected time, which no index serves: ordered by `ts`, Postgres
 * walked the ts index and read the heap once a row (3.4M buffer reads and 57 s against 13 s for a scan and
 * sort, on 4.38M rows lying out of time order), where a full read now scans the table and sorts.
 *
 * Always gross: with `ids`, each row carries its event id, and the reader takes the returned units off the rows
 * returnedUnits named (netRows). Netting in Postgres (a join of every purchase with the returned ids) made the full
 * read 1.8 times the gross one at ten times our data (bench/README.md "Purchases net of returns at the cost of a
 * gross read").
 */
function purchaseRowsQuery(window: PurchaseWindow, ids = false): { sql: string; params: unknown[] } {
  const user = userCondition(window, 'user_id', 3);
  return {
    sql: `SELECT ${PURCHASE_COLUMNS}${ids ? ', event_id AS id' : ''}
         FROM purchase_events WHERE ($1::timestamptz IS NULL OR ts >= $1) AND ($2::timestamptz IS NULL OR ts < $2)
         ${user.where}
         ORDER BY t, event_id`,
    params: [window.from?.toISOString() ?? null, window.to?.toISOString() ?? null, ...user.param],
  };
}

/** The units returned of each purchase (by event id) from returnedUnits' answer. */
const unitsById = (returned: { ids: string[]; units: number[] }) => new Map(returned.ids.map((id, k) => [id, returned.units[k]]));

/** Rows read with their ids, net of the units returned of each: a purchase returned whole is left out, one returned in part keeps the rest. */
function netRows(rows: readonly PurchaseIdRecord[], returned: ReadonlyMap<string, number>): PurchaseRow[] {
  const out: PurchaseRow[] = [];
  for (const r of rows) {
    const n = returned.get(r.id);
    if (n === undefined) out.push(toPurchaseRow(r));
    else if (r.q > n) out.push({ ...toPurchaseRow(r), quantity: r.q - n });
  }
  return out;
}

/** When a window's returns end: its end or `returnsBefore`, the earlier. */
const returnsEnd = (window: PurchaseWindow) => [window.to, window.returnsBefore].filter((d): d is Date => d !== undefined).sort((a, b) => a.getTime() - b.getTime())[0];

/** The returns a window's purchases are net of (returnedUnits), as a query's FROM-less SELECT list and WHERE, from parameter `$at` on. */
function returnsOfWindow(window: PurchaseWindow, at: number): { sql: string; params: unknown[] } {
  const user = userCondition(window, 'user_id', at + 2);
  const storedBy = window.returnsStoredBy ? `AND created_at <= $${at + 2 + user.param.length}` : '';
  return {
    sql: `SELECT user_id, item_id, order_id, quantity, ts, event_id FROM return_events
          WHERE ($${at}::timestamptz IS NULL OR ts >= $${at}) AND ($${at + 1}::timestamptz IS NULL OR ts < $${at + 1}) ${user.where} ${storedBy}`,
    params: [window.from?.toISOString() ?? null, returnsEnd(window)?.toISOString() ?? null, ...user.param, ...(window.returnsStoredBy ? [window.returnsStoredBy.toISOString()] : [])],
  };
}

type ReturnRecord = { u: string; i: string; o: string | null; q: number; t: number };
const toReturnLine = (r: ReturnRecord): ReturnLine => ({ userId: r.u, itemId: r.i, orderId: r.o, quantity: r.q, ts: r.t });
const toPurchaseLine = (r: { u: string; i: string; o: string | null; q: number; t: number }) => ({ userId: r.u, itemId: r.i, orderId: r.o, quantity: r.q, ts: r.t });

/**
 * The units the window's returns take off its purchases (return-allocation.ts), by purchase event id: the returns
 * dated in the window (before `returnsBefore` too, when given), allocated to the purchases of the same customers
 * and items in the window. One statement: the returns (kind 1, by time and id) and their pairs' purchases (kind 0,
 * in the order purchaseRowsQuery reads them); no returns, nothing more is read. The purchases' own read then takes
 * the units off (netRows).
 */
export async function returnedUnits(db: Pick<Db, 'query'>, window: PurchaseWindow): Promise<{ ids: string[]; units: number[] } | undefined> {
  const read = await returnsAndTheirPurchases(db, window);
  return read && unitsTaken(read.bought, read.returns);
}

type BoughtRecord = ReturnRecord & { id: string };

/** The window's returns (by time and id) and their pairs' purchases (in purchaseRowsQuery's order) in one statement; undefined when it has no return. */
async function returnsAndTheirPurchases(db: Pick<Db, 'query'>, window: PurchaseWindow): Promise<{ bought: BoughtRecord[]; returns: ReturnRecord[] } | undefined> {
  const returns = returnsOfWindow(window, 3);
  const { rows } = await db.query<BoughtRecord & { k: number }>(
    `WITH r AS MATERIALIZED (${returns.sql})
     SELECT 1 AS k, user_id AS u, item_id AS i, order_id AS o, quantity AS q, (extract(epoch FROM ts) * 1000)::float8 AS t, event_id AS id FROM r
     UNION ALL
     SELECT 0, p.user_id, p.item_id, p.order_id, p.quantity, (extract(epoch FROM p.ts) * 1000)::float8, p.event_id
     FROM purchase_events p WHERE (p.user_id, p.item_id) IN (SELECT user_id, item_id FROM r)
       AND ($1::timestamptz IS NULL OR p.ts >= $1) AND ($2::timestamptz IS NULL OR p.ts < $2) ${userCondition(window, 'p.user_id', 5).where}
     ORDER BY k, t, id`,
    [window.from?.toISOString() ?? null, window.to?.toISOString() ?? null, ...returns.params],
  );
  const first = rows.findIndex((r) => r.k === 1);
  if (first < 0) return undefined;
  return { bought: rows.slice(0, first), returns: rows.slice(first) };
}

/** The units `returns` take off `bought` (return-allocation.ts), by purchase event id. */
function unitsTaken(bought: readonly BoughtRecord[], returns: readonly ReturnRecord[]): { ids: string[]; units: number[] } {
  const { taken } = allocateReturns(bought.map(toPurchaseLine), returns.map(toReturnLine));
  const out = { ids: [] as string[], units: [] as number[] };
  for (let k = 0; k < bought.length; k++) {
    if (taken[k] > 0) {
      out.ids.push(bought[k].id);
      out.units.push(taken[k]);
    }
  }
  return out;
}

/**
 * Whether any return is dated in the window (netting has anything to do): one probe of an index. A read with none
 * reads its purchases as they are, without their ids.
 */
async function anyReturn(db: Pick<Db, 'query'>, window: PurchaseWindow): Promise<boolean> {
  const returns = returnsOfWindow(window, 1);
  const { rows } = await db.query<{ any: boolean }>(`SELECT EXISTS (${returns.sql}) AS any`, returns.params);
  return rows[0].any;
}

/**
 * The window's purchases gross with their ids from a cursor, each batch with what `pending` (the returned units)
 * found, awaited first. Not run beside the cursor's sort: at load 20 on two cores that measured slower still
 * (bench/README.md "Purchases net of returns at the cost of a gross read").
 */
async function* withReturnsFound<T>(db: Db, window: PurchaseWindow, batchSize: number | undefined, pending: Promise<T>): AsyncGenerator<{ rows: PurchaseIdRecord[]; found: T }> {
  const found = await pending;
  const { sql, params } = purchaseRowsQuery(window, true);
  for await (const rows of db.stream<PurchaseIdRecord>(sql, params, batchSize)) yield { rows, found };
}

const toPurchaseRow = (r: PurchaseRowRecord): PurchaseRow => ({ userId: r.u, itemId: r.i, orderId: r.o, ts: r.t, quantity: r.q, price: r.p });

export type EventRepository = ReturnType<typeof createEventRepository>;

/** A customer's order as storedOrders names it. */
export const orderKey = (userId: string, orderId: string): string => JSON.stringify([userId, orderId]);

/**
 * Erases customers' events and attributes and records each erasure (erased_users, with a new sequence
 * number even for a repeated erasure), in one transaction: under ERASURE_SERIAL, `steps.scrub` first
 * (the model store, export files), then under ERASURE_LOCK the rows, the records and `steps.dropLive`.
 * Neither step may wait on the database. For each id: true when Postgres knew them, or had erased them
 * before and holds nothing of them since (a retry is answered as done); false when never known.
 */
/**
 * The recommendationId of a personal list carries its customer's tag (recommendation-token.ts: a MAC of the id
 * under the key in service_secrets), so a feedback row that keeps it is tied to that customer for whoever holds
 * the key and the id (erased_users keeps it). Another visitor's feedback on the customers' lists (stored with
 * the token before such feedback was stored without it, or while the key was not in hand) loses the token; the
 * event and its labels stay. Rows are found by the tag the token's bytes hold (migration 029's index; rows with
 * a list key are the list's customer's own) and each token is verified before it goes: only a token this
 * key signed for one of them.
 */
async function forgetListTokens(tx: Db, ids: readonly string[]): Promise<void> {
  const key = await readSecret(tx, RECOMMENDATION_ID_SECRET);
  // No key was ever made: no token was signed.
  if (!key) return;
  const tags = new Set(ids.map((id) => userTag(key, id)));
  const { rows } = await tx.query<{ event_id: string; recommendation_id: string }>(
    `SELECT event_id, recommendation_id FROM feedback_events
     WHERE list_key IS NULL AND recommendation_list_tag(recommendation_id) IS NOT NULL AND recommendation_list_tag(recommendation_id) = ANY($1::text[])`,
    [[...tags]],
  );
  const now = Date.now();
  const theirs = rows.filter((r) => {
    const tag = verifyRecommendationToken(key, r.recommendation_id, now, Number.POSITIVE_INFINITY)?.userTag;
    return tag !== undefined && tags.has(tag);
  });
  if (theirs.length === 0) return;
  await tx.query('UPDATE feedback_events SET recommendation_id = NULL WHERE event_id = ANY($1::text[])', [theirs.map((r) => r.event_id).sort()]);
}

async function deleteUsers(db: Db, userIds: readonly string[], steps: ErasureSteps): Promise<Map<string, boolean>> {
  // In id order, as everywhere rows are written (ensureReferenced): no deadlock with ingestion.
  const named = [...new Set(userIds)].sort();
  return db.transaction(async (tx) => {
    // One erasure (or scrub) at a time; the model store and export files are scrubbed first, while
    // ingestion goes on (erasure-repository ERASURE_SERIAL). None of it waits on the database.
    await tx.query(ERASURE_SERIAL);
    // Those whose request the driving process still holds (migration 039), read under the lock: an erasure another
    // process completed before it is seen gone (left alone, unless a caller waits on it: `answered`); one another took
    // and has not run is left to it.
    // Nothing needs the rows locked: only an erasure deletes them (under this lock), and one taken from here on is
    // seen gone by its taker, as this transaction deletes it whoever holds it then.
    let ids = named;
    const gone: string[] = [];
    if (steps.owner !== undefined) {
      const { rows } = await tx.query<{ user_id: string; mine: boolean }>(
        'SELECT user_id, coalesce(starts_with(holder, $2), false) AS mine FROM erasure_requests WHERE user_id = ANY($1::text[])',
        [named, steps.owner],
      );
      const mine = new Map(rows.map((r) => [r.user_id, r.mine]));
      // A DELETE's customer whose request another turn deleted is erased here too (`answered`) when Postgres holds
      // anything of them again: that turn's commit came before this answer, and what was written between them would
      // outlive a 204. Only what was written since can be left: that turn deleted the request under ERASURE_LOCK, after
      // the DELETE recorded it, so it erased everything written before the ask. Nothing written since: answered as
      // before, without a second scrub (a client that sends its DELETE again while the first one's turn runs would
      // otherwise pay a whole erasure per retry, and one whose timeout is shorter than a turn would never see a 204).
      const maybe = named.filter((id) => !mine.has(id) && steps.answered?.has(id) === true);
      const redone = maybe.length === 0 ? [] : await heldAgain(tx, maybe);
      ids = named.filter((id) => mine.get(id) === true || redone.includes(id));
      gone.push(...named.filter((id) => !mine.has(id) && !redone.includes(id)));
      if (redone.length > 0) steps.redone?.(redone);
      const taken = named.filter((id) => mine.get(id) === false);
      if (taken.length > 0) steps.taken?.(taken);
      if (ids.length === 0) return erasedBefore(tx, gone);
    }
    // Only erasures number themselves, each under ERASURE_SERIAL: the highest number stays this until the insert below.
    const highest = async () => Number((await tx.query<{ seq: string | null }>('SELECT max(seq)::text AS seq FROM erased_users')).rows[0]?.seq ?? 0);
    const highestBefore = steps.numbered ? await highest() : 0;
    await steps.scrub?.(tx, ids);
    // The ids of what is to be deleted, hashed while ingestion goes on (a customer with 50,000 purchase lines
    // took 0.3-0.4 s, which ingestion would wait for under the lock): a replay dated after the erasure is
    // refused by its id (erased_event_ids, migration 018).
    // A snapshot taken before the first pass: the second hashes what that did not see, written by ingestion
    // in progress or begun since, however long ago it began (ingestion holds INGEST_LOCK to its commit, so
    // under ERASURE_LOCK every such writer has committed).
    const { rows: firstPass } = await tx.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s');
    await keepErasedIds(tx, ids, null);
    // Then the short part ingestion waits for: rows, the erasure's number, the live events.
    await tx.query(ERASURE_LOCK);
    // Whose rows there were, each id once however many rows it had.
    const deleted = async (table: string, column: string) => {
      const { rows } = await tx.query<{ id: string }>(`WITH d AS (DELETE FROM ${table} WHERE ${column} = ANY($1::text[]) RETURNING ${column} AS id) SELECT DISTINCT id FROM d`, [ids]);
      return rows.map((r) => r.id);
    };
    // What was written since the first pass (before this lock) is hashed too.
    await keepErasedIds(tx, ids, firstPass[0].s);
    // Their feedback, and the days it counted in, to be counted again without it (feedback-rollup.ts).
    const { rows: feedback } = await tx.query<{ ids: string[] | null; days: string[] | null }>(
      `WITH d AS (DELETE FROM feedback_events WHERE user_id = ANY($1::text[]) RETURNING user_id, ts)
       SELECT array_agg(DISTINCT user_id) AS ids, array_agg(DISTINCT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD')) AS days FROM d`,
      [ids],
    );
    await markRecount(tx, feedback[0].days ?? []);
    // Other visitors' feedback on their personal lists: the event stays, the token that names them goes.
    await forgetListTokens(tx, ids);
    const held = new Set([...(feedback[0].ids ?? []), ...(await deleted('purchase_events', 'user_id')), ...(await deleted('return_events', 'user_id'))]);
    await tx.query('DELETE FROM interaction_events WHERE user_id = ANY($1::text[])', [ids]);
    const known = new Set(await deleted('users', 'id'));
    // An id Postgres never held (or holds no more: erased before, so already listed) is not recorded:
    // no training can have seen it since, and a 404 changes nothing.
    const recorded = ids.filter((id) => known.has(id) || held.has(id));
    if (recorded.length > 0) {
      await tx.query(
        // The time it is recorded, not the transaction's start: the scrub before it takes a while.
        `INSERT INTO erased_users (user_id, erased_at) SELECT u, clock_timestamp() FROM unnest($1::text[]) AS u ORDER BY u
         ON CONFLICT (user_id) DO UPDATE SET erased_at = clock_timestamp(), seq = nextval(pg_get_serial_sequence('erased_users', 'seq'))`,
        [recorded],
      );
    }
    // Asked and now done (or never known: nothing to do): no longer owed (erasure_requests, migration 036), in the
    // transaction that records it, so a rollback leaves it owed.
    await tx.query('DELETE FROM erasure_requests WHERE user_id = ANY($1::text[])', [ids]);
    if (steps.numbered) await steps.numbered(highestBefore, await highest());
    // Live events written by ingestion that committed before this lock (they were appended before
    // that commit): dropped now. An erasure is seen by readers of erased_users (followers, marks) only
    // once all of it is done; if any of it fails, Postgres keeps the customers and they can be asked again.
    await steps.dropLive?.(ids);
    // Erased before and nothing since: the erasure stands, so a retry (after a 503 that hid a finished
    // erasure, say) is answered as done, not as an unknown customer. So is one another process completed.
    const before = await erasedBefore(tx, [...ids.filter((id) => !known.has(id)), ...gone]);
    return new Map([...ids, ...gone].sort().map((id) => [id, known.has(id) || before.get(id) === true]));
  });
}

/**
 * Of `userIds`, those Postgres holds anything of (attributes, purchases, returns, feedback, interactions): written since
 * their last erasure. Everything else of a customer (live events, a training's entries, export rows) is made from these.
 */
async function heldAgain(tx: Db, userIds: readonly string[]): Promise<string[]> {
  const { rows } = await tx.query<{ u: string }>(
    `SELECT u FROM unnest($1::text[]) AS u
     WHERE EXISTS (SELECT 1 FROM users WHERE id = u) OR EXISTS (SELECT 1 FROM purchase_events WHERE user_id = u)
        OR EXISTS (SELECT 1 FROM return_events WHERE user_id = u) OR EXISTS (SELECT 1 FROM feedback_events WHERE user_id = u)
        OR EXISTS (SELECT 1 FROM interaction_events WHERE user_id = u)`,
    [[...userIds]],
  );
  return rows.map((r) => r.u).sort();
}

/** Of `userIds`, whether each is recorded as erased (erased_users). */
async function erasedBefore(tx: Db, userIds: readonly string[]): Promise<Map<string, boolean>> {
  const { rows } = userIds.length > 0 ? await tx.query<{ user_id: string }>('SELECT user_id FROM erased_users WHERE user_id = ANY($1::text[])', [userIds]) : { rows: [] };
  const erased = new Set(rows.map((r) => r.user_id));
  return new Map(userIds.map((id) => [id, erased.has(id)]));
}

/**
 * Whose purchases a range read leaves out: 'owed', the customers whose erasure is owed as erasure_requests holds them
 * (OWED_IDS_SQL, anti-joined inside Postgres: no id crosses the wire), or the ids given (a list the caller holds: a
 * process's in-memory owed list, profile-service latestPurchaseNotOwed), sent as a parameter; [] leaves none out.
 */
export type LeftOut = readonly string[] | 'owed';

/**
 * A purchase (`p`) of a customer whose erasure is not owed: one probe of erasure_requests' key per purchase the ts
 * index walk reaches, so each end stops at the first purchase of a customer not owed. OFFSET 0 keeps the NOT EXISTS a
 * per-row probe: made a join, the planner hashed all of erasure_requests and sorted every purchase instead (at 100,000
 * owed and 200,000 purchases, 436 ms against 2.3 ms: bench/README "Owed customers left out inside Postgres").
 */
const NOT_OWED = `NOT EXISTS (SELECT 1 FROM (${OWED_IDS_SQL}) AS owed WHERE owed.user_id = p.user_id OFFSET 0)`;

export function createEventRepository(db: Db) {
  /**
   * A user's purchases, newest first (event ids break ties), `limit` from `offset` or strictly after the
   * purchase a `cursor` (a page's `nextCursor`) names, so a purchase arriving between two pages (the
   * newest, on the first) does not push the one read last onto the next; `nextCursor` null on the last.
   */
  async function pageUserPurchases(userId: string, opts: { limit: number; offset?: number; cursor?: string }): Promise<{ events: PurchaseRecord[]; nextCursor: string | null }> {
    const after = opts.cursor === undefined ? null : decodeCursor(opts.cursor, PURCHASE_CURSOR);
    const u = listTag(userId);
    if (after && after.u !== u) throw badCursor("a cursor of another customer's purchases");
    const params: unknown[] = [userId, opts.limit + 1, opts.offset ?? 0];
    let from = '';
    if (after) {
      const ts = timestampOfMicros(`$${params.push(after.k)}`);
      from = `AND (p.ts < ${ts} OR (p.ts = ${ts} AND p.event_id > $${params.push(after.id)}))`;
    }
    const { rows } = await db.query<Record<string, unknown>>(
      // The item's title comes along so a history reads as products, not stock codes (one PK lookup per row).
      `SELECT p.event_id, p.user_id, p.item_id, p.quantity, p.price, p.order_id, p.ts, ${microsOf('p.ts')} AS ts_key, i.title
       FROM purchase_events p LEFT JOIN items i ON i.id = p.item_id
       WHERE p.user_id = $1 ${from} ORDER BY p.ts DESC, p.event_id LIMIT $2 OFFSET $3`,
      params,
    );
    const events = rows.slice(0, opts.limit).map((r) => ({
      eventId: r.event_id as string,
      userId: r.user_id as string,
      itemId: r.item_id as string,
      quantity: r.quantity as number,
      price: (r.price as number | null) ?? null,
      orderId: (r.order_id as string | null) ?? null,
      ts: (r.ts as Date).toISOString(),
      ...(r.title ? { title: r.title as string } : {}),
    }));
    const last = rows[opts.limit - 1];
    return { events, nextCursor: rows.length > opts.limit ? encodeCursor({ u, k: last.ts_key as number, id: last.event_id as string }) : null };
  }

  return {
    /**
     * Of `ids`, those a stored event of the kind carries (purchases' and views', carts' and ratings' ids are
     * apart: an id is unique per kind). Ingestion asks it of padded ids only (http/routes/padded-ids.ts).
     */
    async storedEventIds(kind: 'purchase' | 'interaction', ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const table = kind === 'purchase' ? 'purchase_events' : 'interaction_events';
      const { rows } = await db.query<{ event_id: string }>(`SELECT event_id FROM ${table} WHERE event_id = ANY($1::text[])`, [ids]);
      return new Set(rows.map((r) => r.event_id));
    },

    /**
     * Of these events (each its customer, time and id, given or derived as the write derives it), the indices
     * of those an erasure claims: a write now would drop them, counted as erased (notErased's rule). Read
     * without waiting for an erasure under way (the write itself does): ingestion asks it of events whose
     * padded ids are not stored (http/routes/padded-ids.ts), so an erased customer's replayed batch is counted
     * as erased, not refused for ids the erasure deleted.
     */
    async erasedAmong(events: readonly { userId: string; ts: Date; id: string }[]): Promise<Set<number>> {
      if (events.length === 0) return new Set();
      return erasedIndices(db, events, events.map((e) => e.id));
    },

    /**
     * Of `orders`, those a stored purchase of the same customer carries (keys `orderKey(userId, orderId)`): an
     * order is one customer's basket, and their purchases are read by customer (purchase_events_user_ts).
     */
    async storedOrders(orders: readonly { userId: string; orderId: string }[]): Promise<Set<string>> {
      if (orders.length === 0) return new Set();
      const { rows } = await db.query<{ user_id: string; order_id: string }>(
        'SELECT DISTINCT user_id, order_id FROM purchase_events WHERE user_id = ANY($1::text[]) AND order_id = ANY($2::text[])',
        [[...new Set(orders.map((o) => o.userId))], [...new Set(orders.map((o) => o.orderId))]],
      );
      return new Set(rows.map((r) => orderKey(r.user_id, r.order_id)));
    },

    /**
     * Stores a batch of purchases in one transaction: all or nothing. Unknown users/items are created
     * on the fly. `beforeCommit` runs inside it, once the new events are known (live state: it must not
     * wait on the database). Returns how many events were new (the rest were already stored, or repeat an
     * id the batch names before them: the first event of an id is the one stored).
     */
    async insertPurchases(
      events: PurchaseInput[],
      beforeCommit?: BeforeCommit,
    ): Promise<{ inserted: number; duplicates: number; erased: number; eventIds: string[]; newIds: Set<string> }> {
      const ids = deriveEventIds(events, (e) => purchaseContent(e));
      if (events.length === 0) return { inserted: 0, duplicates: 0, erased: 0, eventIds: [], newIds: new Set() };
      const { written: newIds, erased } = await writePurchases(db, events, ids, true, beforeCommit);
      return { inserted: newIds.size, duplicates: events.length - erased - newIds.size, erased, eventIds: ids, newIds };
    },

    /**
     * insertPurchases for bulk imports: the same transaction and the same ids, but only the counts come
     * back (no id of every new event over the wire).
     */
    async importPurchases(events: PurchaseInput[]): Promise<{ inserted: number; duplicates: number; erased: number }> {
      if (events.length === 0) return { inserted: 0, duplicates: 0, erased: 0 };
      const { written: inserted, erased } = await writePurchases(db, events, deriveEventIds(events, (e) => purchaseContent(e)), false);
      return { inserted, duplicates: events.length - erased - inserted, erased };
    },

    /**
     * Stores feedback; customers and items it names are created when new, except with `knownItemsOnly`
     * (a browser's key: what it sends must not add catalog items), where events about items the catalog
     * lacks are left out and counted as `unknownItems`. With `browserLabels` (a browser's key too: its
     * labels would otherwise make up the online reports' strategies and experiment arms), the labels are
     * those of the signed recommendationId the event names, else checked (keepKnownLabels); the events
     * whose labels were dropped or changed are counted as `unknownLabels`. Every event gets the model version
     * of the list its recommendationId names when the service signed it (`modelVersionOf`), whatever the key.
     * `eventIds`: each event's id, in
     * the batch's order (given, or derived from its content), stored or not. An event repeating an id the
     * batch names before it is a duplicate: the first event of an id is the one stored (firstOfEachId).
     */
    async insertFeedback(
      batch: FeedbackInput[],
      opts: {
        knownItemsOnly?: boolean;
        browserLabels?: BrowserLabelRule;
        storedPurchases?: boolean;
        /** The model version of the list a recommendationId names, when the service signed it (any key's feedback); else null. */
        modelVersionOf?: (recommendationId: string | null | undefined) => string | null;
        /**
         * The recommendationId names a personal list the service signed for a customer other than the event's
         * (any key's feedback): the event is stored with the labels read from it, without the id itself.
         */
        madeForAnother?: (recommendationId: string | null | undefined, userId: string) => boolean;
      } = {},
    ): Promise<{ inserted: number; duplicates: number; erased: number; unknownItems: number; unknownLabels: number; eventIds: string[]; purchases: StoredPurchaseFeedback[] }> {
      const batchIds = deriveEventIds(batch, feedbackContent);
      if (batch.length === 0) return { inserted: 0, duplicates: 0, erased: 0, unknownItems: 0, unknownLabels: 0, eventIds: [], purchases: [] };
      return db.transaction(async (tx) => {
        // Unknown items and labels are counted over the whole batch, before the events of erased customers
        // are left out: counted after, a browser's answer would tell whether a customer was erased.
        let [events, ids] = [batch, batchIds];
        let unknownItems = 0;
        if (opts.knownItemsOnly) {
          const { rows } = await tx.query<{ id: string }>('SELECT id FROM items WHERE id = ANY($1::text[])', [[...new Set(events.map((e) => e.itemId))]]);
          const known = new Set(rows.map((r) => r.id));
          const kept = events.flatMap((e, k) => (known.has(e.itemId) ? [k] : []));
          unknownItems = events.length - kept.length;
          [events, ids] = [kept.map((k) => events[k]), kept.map((k) => ids[k])];
        }
        let unknownLabels = 0;
        let listKeys: (string | null)[] = events.map(() => null);
        let listSince: (number | null)[] | undefined;
        if (opts.browserLabels && events.length > 0) ({ events, listKeys, listSince, unknownLabels } = await keepKnownLabels(tx, events, opts.browserLabels));
        // notErased keeps events by identity: their list keys follow them.
        const keyOf = new Map(events.map((e, k) => [e, listKeys[k]]));
        const notGone = await notErased(tx, events, ids, listSince);
        const { erased } = notGone;
        const toStore = notGone.events.length;
        ({ events, ids } = firstOfEachId(notGone.events, notGone.ids));
        if (events.length === 0) return { inserted: 0, duplicates: 0, erased, unknownItems, unknownLabels, eventIds: batchIds, purchases: [] };
        // The foreign key wants the customer rows first; those made for events not stored (duplicates) go below.
        const made = await ensureReferenced(tx, events.map((e) => e.userId), events.map((e) => e.itemId), 'feedback');
        const { rows } = await tx.query<{ user_id: string }>(
          // Either unique key dedupes: the event's id, or a browser's list key (keepKnownLabels).
          `INSERT INTO feedback_events (event_id, user_id, item_id, type, recommendation_id, strategy, ts, experiment_id, arm, campaign_id, list_key, model_version)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[]) AS e(id) ORDER BY id
           ON CONFLICT DO NOTHING RETURNING user_id`,
          [
            ids,
            events.map((e) => e.userId),
            events.map((e) => e.itemId),
            events.map((e) => e.type),
            // Another visitor's event on a customer's personal list keeps its labels, not the customer's token.
            events.map((e) => (opts.madeForAnother?.(e.recommendationId, e.userId) ? null : (e.recommendationId ?? null))),
            events.map((e) => e.strategy ?? null),
            events.map((e) => e.ts.toISOString()),
            events.map((e) => e.experimentId ?? null),
            events.map((e) => e.arm ?? null),
            events.map((e) => e.campaignId ?? null),
            events.map((e) => keyOf.get(e) ?? null),
            events.map((e) => opts.modelVersionOf?.(e.recommendationId) ?? null),
          ],
        );
        // A customer row made here for events that were all duplicates would be named by no feedback, so
        // no retention sweep would ever delete it: anyone with the public key could grow the users table.
        // Made by this transaction, it is held by nobody else yet (no lock to order, nothing to cascade).
        const named = new Set(rows.map((r) => r.user_id));
        const unnamed = made.filter((id) => !named.has(id));
        if (unnamed.length > 0) await tx.query('DELETE FROM users WHERE id = ANY($1::text[]) AND made_by_feedback', [unnamed]);
        // Feedback of a day whose counts may be made already (sent late, or imported): counted again.
        if (rows.length > 0) await markRecount(tx, daysToRecount(events.map((e) => e.ts), new Date()));
        // The purchases stored under the batch's ids, new or from before (a batch sent again after its feedback
        // was stored and its purchases were not): what an id holds, whatever the batch now says under it.
        const purchases = opts.storedPurchases
          ? (
              await tx.query<{ event_id: string; user_id: string; item_id: string; ts: Date }>(
                "SELECT event_id, user_id, item_id, ts FROM feedback_events WHERE event_id = ANY($1::text[]) AND type = 'purchase'",
                [ids],
              )
            ).rows.map((r) => ({ eventId: r.event_id, userId: r.user_id, itemId: r.item_id, ts: new Date(r.ts) }))
          : [];
        return { inserted: rows.length, duplicates: toStore - rows.length, erased, unknownItems, unknownLabels, eventIds: batchIds, purchases };
      });
    },

    /**
     * The distinct items a customer bought after `since` (all they bought with null): what their list must
     * leave out when the model store's live list of their purchases since training (LIVE_EVENTS_KEPT) has
     * dropped some.
     */
    async itemsBoughtSince(userId: string, since: Date | null): Promise<string[]> {
      const { rows } = await db.query<{ item_id: string }>(
        'SELECT DISTINCT item_id FROM purchase_events WHERE user_id = $1 AND ($2::timestamptz IS NULL OR ts > $2)',
        [userId, since?.toISOString() ?? null],
      );
      return rows.map((r) => r.item_id);
    },

    /** The customers who bought any of these items at or after `since` (an audience leaves them out as recent buyers). */
    async buyersSince(itemIds: readonly string[], since: Date): Promise<string[]> {
      if (itemIds.length === 0) return [];
      const { rows } = await db.query<{ user_id: string }>('SELECT DISTINCT user_id FROM purchase_events WHERE item_id = ANY($1::text[]) AND ts >= $2', [
        itemIds,
        Number.isFinite(since.getTime()) ? since.toISOString() : '-infinity',
      ]);
      return rows.map((r) => r.user_id);
    },

    /** A user's purchases, newest first. */
    async listUserPurchases(userId: string, opts: { limit: number; offset: number }): Promise<PurchaseRecord[]> {
      return (await pageUserPurchases(userId, opts)).events;
    },

    /** A user's purchases a page at a time, with the cursor of the next (see pageUserPurchases above). */
    pageUserPurchases,

    /**
     * All purchases in [from, to) (of one user when `userId` is given) as dataset rows, for training, evaluation and
     * profiles: net of the window's returns (returnedUnits): a purchase returned whole is not among them, one
     * returned in part has the units kept.
     */
    async loadPurchaseRows(window: PurchaseWindow = {}): Promise<PurchaseRow[]> {
      // One statement: the window's purchases (kind 0, in purchaseRowsQuery's order) and then its returns (kind 1),
      // allocated here over the purchases read (a return's pair's purchases in the window are among them). A
      // batch of customers on the request path (batched-reads.ts) is one round trip.
      const purchases = purchaseRowsQuery(window, true);
      const returns = returnsOfWindow(window, purchases.params.length + 1);
      const { rows } = await db.query<PurchaseIdRecord & { k: number }>(
        `WITH r AS MATERIALIZED (${returns.sql})
         SELECT * FROM (SELECT 0 AS k, ${PURCHASE_COLUMNS}, event_id AS id FROM purchase_events
                        WHERE ($1::timestamptz IS NULL OR ts >= $1) AND ($2::timestamptz IS NULL OR ts < $2) ${userCondition(window, 'user_id', 3).where}
                        UNION ALL
                        SELECT 1, user_id, item_id, order_id, (extract(epoch FROM ts) * 1000)::float8, quantity, NULL, event_id FROM r) x
         ORDER BY k, t, id`,
        [...purchases.params, ...returns.params],
      );
      const first = rows.findIndex((r) => r.k === 1);
      if (first < 0) return rows.map(toPurchaseRow);
      const bought = rows.slice(0, first);
      const { taken } = allocateReturns(bought.map(toPurchaseLine), rows.slice(first).map(toReturnLine));
      const out: PurchaseRow[] = [];
      for (let k = 0; k < bought.length; k++) {
        const r = bought[k];
        if (taken[k] === 0) out.push(toPurchaseRow(r));
        else if (taken[k] < r.q) out.push({ ...toPurchaseRow(r), quantity: r.q - taken[k] });
      }
      return out;
    },

    /**
     * The same rows as loadPurchaseRows, in the same order, in batches of at most `batchSize`: on
     * Postgres from a cursor, so a caller that keeps them in columns (DatasetBuilder) never holds every
     * purchase as an object. PGlite yields them as one batch. With returns in the window, the units returnedUnits finds (the
     * returns and their pairs' purchases only, one statement) come off the purchases as they are read, gross with their
     * ids (netRows): no join of every purchase in Postgres.
     */
    async *streamPurchaseRows(window: PurchaseWindow = {}, batchSize?: number): AsyncGenerator<PurchaseRow[]> {
      if (!(await anyReturn(db, window))) {
        const { sql, params } = purchaseRowsQuery(window);
        for await (const rows of db.stream<PurchaseRowRecord>(sql, params, batchSize)) yield rows.map(toPurchaseRow);
        return;
      }
      let units: Map<string, number> | undefined;
      for await (const { rows, found } of withReturnsFound(db, window, batchSize, returnedUnits(db, window))) {
        units ??= unitsById(found ?? { ids: [], units: [] });
        const net = netRows(rows, units);
        if (net.length > 0) yield net;
      }
    },

    /**
     * streamPurchaseRows's rows (net of every return of the window) and, beside them, the same purchases net only of
     * the returns dated before the start of the `spanMs` that end just after the window's latest purchase (`tuning`):
     * a training's own tuning validates rolling windows over that span, each fold training on what came before its
     * window, so a return made in a window is a fact no fold's training side may know (tune-command.ts reads the same
     * way; an evaluation too: evaluation-service.ts returnsWindow). Conservative, as those: a later fold does not see
     * the returns made in the earlier windows either. One read of the returns and of the purchases; `tuning` is
     * absent from every batch when no return is dated in the span (the two are the same rows). When the window holds
     * returns, each batch carries `tuningEnd`, the end of the span the returns were split at (just after the latest purchase its own
     * statement saw): tuning must place its windows there, not after the latest row the cursor gave, since a purchase
     * stored or a customer erased between the statements would move them off the split.
     */
    async *streamPurchaseRowsWithTuning(window: PurchaseWindow, spanMs: number, batchSize?: number): AsyncGenerator<{ rows: PurchaseRow[]; tuning?: PurchaseRow[]; tuningEnd?: number }> {
      if (!(await anyReturn(db, window))) {
        const { sql, params } = purchaseRowsQuery(window);
        for await (const rows of db.stream<PurchaseRowRecord>(sql, params, batchSize)) yield { rows: rows.map(toPurchaseRow) };
        return;
      }
      const user = userCondition(window, 'user_id', 3);
      const { rows: latest } = await db.query<{ t: number | null }>(
        `SELECT (extract(epoch FROM max(ts)) * 1000)::float8 AS t FROM purchase_events
         WHERE ($1::timestamptz IS NULL OR ts >= $1) AND ($2::timestamptz IS NULL OR ts < $2) ${user.where}`,
        [window.from?.toISOString() ?? null, window.to?.toISOString() ?? null, ...user.param],
      );
      // The windows' start as a Date (whole milliseconds), as tune-command.ts tuningWindowsStart gives it.
      const last = latest[0]?.t;
      const start = last === null || last === undefined ? Number.POSITIVE_INFINITY : new Date(last + 1 - spanMs).getTime();
      const pending = returnsAndTheirPurchases(db, window).then((read) => {
        if (!read) return { now: new Map<string, number>() };
        const now = unitsById(unitsTaken(read.bought, read.returns));
        const early = read.returns.filter((r) => r.t < start);
        return early.length === read.returns.length ? { now } : { now, then: unitsById(unitsTaken(read.bought, early)) };
      });
      for await (const { rows, found } of withReturnsFound(db, window, batchSize, pending)) {
        const then: Map<string, number> | undefined = 'then' in found ? found.then : undefined;
        // The split's end goes with every batch, `tuning` or not: with every return before the windows, tuning's
        // windows must still end there (a later latest purchase would put some of those returns inside them).
        const end = Number.isFinite(start) ? { tuningEnd: start + spanMs } : {};
        yield then ? { rows: netRows(rows, found.now), tuning: netRows(rows, then), ...end } : { rows: netRows(rows, found.now), ...end };
      }
    },

    /**
     * Stores a batch of views, add-to-carts and ratings in one transaction: all or nothing, idempotent
     * like purchases (a retried batch adds nothing twice; of one id in a batch, the first event is stored).
     * Never touches live purchase state.
     */
    async insertInteractions(events: InteractionInput[]): Promise<{ inserted: number; duplicates: number; erased: number }> {
      if (events.length === 0) return { inserted: 0, duplicates: 0, erased: 0 };
      const { inserted, erased } = await writeInteractions(db, events, deriveEventIds(events, (e) => interactionContent(e)));
      return { inserted, duplicates: events.length - erased - inserted, erased };
    },

    /** importPurchases' counterpart for interactions whose ids the importer has fixed already. */
    async importInteractions(events: (InteractionInput & { eventId: string })[]): Promise<{ inserted: number; duplicates: number; erased: number }> {
      if (events.length === 0) return { inserted: 0, duplicates: 0, erased: 0 };
      const { inserted, erased } = await writeInteractions(db, events, events.map((e) => e.eventId));
      return { inserted, duplicates: events.length - erased - inserted, erased };
    },

    /**
     * Stores a batch of returns in one transaction: all or nothing, idempotent like purchases (a retried batch
     * adds nothing twice; of one id in a batch, the first event is stored). Without `refuse` nothing is checked
     * against the purchases (an import); a return beyond what was bought takes nothing off when purchases are
     * read. With it (the API) the check is made under the batch's customers' locks in the writing transaction
     * (writeReturns), and a batch with a return beyond the purchases is refused whole with its error.
     */
    async insertReturns(events: ReturnInput[], refuse?: (refused: RefusedReturn[]) => Error): Promise<{ inserted: number; duplicates: number; erased: number; eventIds: string[] }> {
      const ids = deriveEventIds(events, (e) => returnContent(e));
      if (events.length === 0) return { inserted: 0, duplicates: 0, erased: 0, eventIds: [] };
      const { written, erased } = await writeReturns(db, events, ids, refuse);
      return { inserted: written.size, duplicates: events.length - erased - written.size, erased, eventIds: ids };
    },

    /** insertReturns for bulk imports, with the ids the importer fixed. */
    async importReturns(events: (ReturnInput & { eventId: string })[]): Promise<{ inserted: number; duplicates: number; erased: number }> {
      if (events.length === 0) return { inserted: 0, duplicates: 0, erased: 0 };
      const { written, erased } = await writeReturns(db, events, events.map((e) => e.eventId));
      return { inserted: written.size, duplicates: events.length - erased - written.size, erased };
    },

    /**
     * Of these new returns (not stored yet), the units each would take nothing off: what its customer bought of
     * its item at or before it (in the order it names) and stored returns, and the batch's returns before it, have
     * not left. 0 for a return matched whole. Read with the returns' stored ids left out, so a batch sent again
     * is answered as it was the first time.
     */
    async unmatchedReturns(events: readonly ReturnInput[], ids: readonly string[]): Promise<number[]> {
      return unmatchedIn(db, events, ids);
    },

    /**
     * Interactions of the given types in [from, to), in batches (a cursor on Postgres), for training.
     * Only the types asked for are read: with a view weight of 0 not one view crosses the wire.
     */
    async *streamInteractionRows(types: readonly InteractionType[], window: Omit<PurchaseWindow, 'userId'> = {}, batchSize?: number): AsyncGenerator<InteractionRow[]> {
      if (types.length === 0) return;
      const sql = `SELECT user_id AS u, item_id AS i, type AS k, value AS v, (extract(epoch FROM ts) * 1000)::float8 AS t
         FROM interaction_events WHERE type = ANY($1::smallint[]) AND ($2::timestamptz IS NULL OR ts >= $2) AND ($3::timestamptz IS NULL OR ts < $3)`;
      const params = [types.map(interactionCode), window.from?.toISOString() ?? null, window.to?.toISOString() ?? null];
      for await (const rows of db.stream<InteractionRowRecord>(sql, params, batchSize)) {
        yield rows.map((r) => ({ userId: r.u, itemId: r.i, type: INTERACTION_TYPES[r.k - 1], value: r.v ?? Number.NaN, ts: r.t }));
      }
    },

    /** A user's latest interactions of one type, newest first (e.g. recent views for session recommendations). */
    async listUserInteractions(userId: string, type: InteractionType, limit: number): Promise<{ itemId: string; ts: string; value: number | null }[]> {
      const { rows } = await db.query<{ item_id: string; ts: Date; value: number | null }>(
        `SELECT item_id, ts, value FROM interaction_events WHERE user_id = $1 AND type = $2 ORDER BY ts DESC, event_id LIMIT $3`,
        [userId, interactionCode(type), limit],
      );
      return rows.map((r) => ({ itemId: r.item_id, ts: new Date(r.ts).toISOString(), value: r.value }));
    },

    /**
     * The first purchase in the window [from, to) (ISO), or null when it holds none: one index lookup
     * (a window inside a gap of the data, which the first and last purchase cannot tell); `without` as purchaseRange's.
     */
    async firstPurchaseIn(window: Pick<PurchaseWindow, 'from' | 'to'>, without: LeftOut = []): Promise<string | null> {
      // `without`: of the other customers' purchases only (those whose erasure is owed: purchaseRange's `without`).
      const bounds = [window.from?.toISOString() ?? null, window.to?.toISOString() ?? null];
      const inWindow = 'FROM purchase_events p WHERE ($1::timestamptz IS NULL OR p.ts >= $1) AND ($2::timestamptz IS NULL OR p.ts < $2)';
      const { rows } =
        without === 'owed'
          ? await db.query<{ first: Date | string | null }>(`SELECT p.ts AS first ${inWindow} AND ${NOT_OWED} ORDER BY p.ts LIMIT 1`, bounds)
          : await db.query<{ first: Date | string | null }>(
              `SELECT min(ts) AS first ${inWindow}${without.length === 0 ? '' : ' AND user_id <> ALL($3::text[])'}`,
              [...bounds, ...(without.length === 0 ? [] : [without])],
            );
      return rows.length === 0 || rows[0].first === null ? null : new Date(rows[0].first).toISOString();
    },

    /**
     * The first and the last purchase's time (ISO), or null when none is stored; two index lookups. `without`: of the
     * other customers' purchases only (the customers whose erasure is owed: an evaluation's period is cut from the
     * others'); each end then walks the ts index past the purchases of those customers that lie at it. 'owed': those
     * of erasure_requests, joined inside Postgres (no id sent); ids: a list the caller holds (a process's owed list).
     */
    async purchaseRange(without: LeftOut = []): Promise<{ first: string | null; last: string | null }> {
      type Range = { first: Date | string | null; last: Date | string | null };
      const { rows } =
        without === 'owed'
          ? await db.query<Range>(
              `SELECT (SELECT p.ts FROM purchase_events p WHERE ${NOT_OWED} ORDER BY p.ts LIMIT 1) AS first,
                      (SELECT p.ts FROM purchase_events p WHERE ${NOT_OWED} ORDER BY p.ts DESC LIMIT 1) AS last`,
            )
          : without.length === 0
            ? await db.query<Range>('SELECT min(ts) AS first, max(ts) AS last FROM purchase_events')
            : await db.query<Range>('SELECT min(ts) AS first, max(ts) AS last FROM purchase_events WHERE user_id <> ALL($1::text[])', [without]);
      const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
      return { first: iso(rows[0].first), last: iso(rows[0].last) };
    },

    /**
     * The customers whose erasure is owed (OWED_IDS_SQL, by id) and the latest purchase of the others (ISO, null when
     * none), in one statement: one snapshot, so an erasure asked or completed meanwhile is in both or in neither (an
     * evaluation's and tune's input, owed-free-input.ts: the purchases read leave out the ids, the window is cut from
     * the latest). The latest as purchaseRange('owed'): one walk back of the ts index.
     */
    async owedAndLatest(): Promise<{ owedIds: string[]; latest: string | null }> {
      const { rows } = await db.query<{ ids: string[]; last: Date | string | null }>(
        `SELECT ARRAY(${OWED_IDS_SQL} ORDER BY user_id) AS ids, (SELECT p.ts FROM purchase_events p WHERE ${NOT_OWED} ORDER BY p.ts DESC LIMIT 1) AS last`,
      );
      return { owedIds: rows[0].ids, latest: rows[0].last === null ? null : new Date(rows[0].last).toISOString() };
    },

    /**
     * The `limit` latest purchases' buyers and times (ISO), latest first: one walk back of the ts index. A refreshed
     * profile looks among them for the latest purchase of a customer whose erasure is not owed (profile-service
     * latestPurchaseNotOwed) instead of sending the owed ids with the statement.
     */
    async latestPurchases(limit: number): Promise<Array<{ userId: string; ts: string }>> {
      const { rows } = await db.query<{ user_id: string; ts: Date | string }>('SELECT user_id, ts FROM purchase_events ORDER BY ts DESC LIMIT $1', [limit]);
      return rows.map((r) => ({ userId: r.user_id, ts: new Date(r.ts).toISOString() }));
    },

    async counts(): Promise<{ purchases: number; orders: number; feedback: number }> {
      const { rows } = await db.query<{ purchases: number; orders: number; feedback: number }>(
        `SELECT (SELECT count(*)::int FROM purchase_events) AS purchases,
                (SELECT count(DISTINCT order_id)::int FROM purchase_events) AS orders,
                (SELECT count(*)::int FROM feedback_events) AS feedback`,
      );
      return rows[0];
    },

    /** deleteUsers for one customer: false when they were unknown and never erased. */
    async deleteUser(userId: string, steps: ErasureSteps = {}): Promise<boolean> {
      return (await deleteUsers(db, [userId], steps)).get(userId) ?? false;
    },

    deleteUsers: (userIds: readonly string[], steps: ErasureSteps = {}) => deleteUsers(db, userIds, steps),
  };
}
