/**
 * Finished answers to GET /v1/users/:id/recommendations, per model version: a shopper's page views ask
 * the same question again and again, and while nothing it depends on changed the answer is the same.
 *
 * An answer depends on the version (the cache lives on the version's ServingModel), the user and the
 * query (the key), the catalog state (the catalog overlay clears the cache when it changes an item) and
 * the user's purchases since training (the use case only stores and reuses answers when there are none:
 * it still reads the live events on every request, so a purchase changes the very next answer). An
 * erasure forgets the user's answers. Each reuse gets its own recommendationId.
 *
 * Cached items arrays are frozen: they are shared by every reuse, and a serializer may keep their JSON.
 */
import { randomUUID } from 'node:crypto';
import { EntryCache } from './entry-cache.js';
import type { Recommendation, UserQuery } from './recommendation.js';

/** Query variants kept per user (a shop asks a few: home page, cart, category pages). */
const QUERIES_PER_USER = 8;
/**
 * Rough in-memory size of one kept item: its object (~160 bytes) and its share of the items' JSON the
 * serializer keeps beside a reused answer (~280 bytes; measured: 10-item answers under a 16 MB bound
 * grew the heap by 14 MB without the JSON and 44 MB with it at 160 bytes per item).
 */
const BYTES_PER_ITEM = 450;

export const DEFAULT_ANSWER_CACHE_BYTES = 32 * 1024 * 1024;

type Answer = Omit<Recommendation, 'recommendationId'>;

/**
 * The cache key of a query once its defaults are applied, or undefined when its answer is not worth
 * keeping: an `exclude` list is usually what one page shows, so it seldom repeats, and keeping answers
 * that are never read again only costs. The common query (no filter) gets a short key; a category or
 * price filter makes a JSON array, which cannot be mistaken for the short form.
 */
export function answerKey(strategy: string, excludePurchased: boolean, q: UserQuery): string | undefined {
  if (q.exclude?.length) return undefined;
  const diversity = q.diversity ?? 0;
  if (q.category === undefined && q.minPrice === undefined && q.maxPrice === undefined) return `${strategy}|${q.k}|${excludePurchased ? 1 : 0}|${diversity}`;
  return JSON.stringify([strategy, q.k, excludePurchased, diversity, q.category ?? null, q.minPrice ?? null, q.maxPrice ?? null]);
}

export class AnswerCache {
  private users: EntryCache<Map<string, Answer>>;

  constructor(private readonly maxBytes: number = DEFAULT_ANSWER_CACHE_BYTES) {
    this.users = new EntryCache(maxBytes);
  }

  /** A stored answer under a new recommendationId, or undefined. */
  get(userId: string, key: string): Recommendation | undefined {
    const answer = this.users.get(userId)?.get(key);
    return answer && { recommendationId: randomUUID(), ...answer };
  }

  /** Stores the answer (its items array is frozen: later reuses share it). */
  set(userId: string, key: string, r: Recommendation): void {
    if (this.maxBytes === 0) return;
    const answers = this.users.get(userId) ?? new Map<string, Answer>();
    answers.delete(key);
    answers.set(key, { modelVersion: r.modelVersion, strategy: r.strategy, fallback: r.fallback, items: Object.freeze(r.items) as Answer['items'] });
    if (answers.size > QUERIES_PER_USER) answers.delete(answers.keys().next().value!);
    let items = 0;
    for (const a of answers.values()) items += a.items.length;
    this.users.set(userId, answers, items * BYTES_PER_ITEM + answers.size * 200);
  }

  /** Forgets one user's answers (erasure). */
  forget(userId: string): void {
    this.users.set(userId, null, 0);
  }

  /** Forgets every answer (the catalog changed). */
  clear(): void {
    this.users = new EntryCache(this.maxBytes);
  }
}
