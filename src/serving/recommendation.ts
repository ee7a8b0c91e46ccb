/**
 * The one response shape of every recommendation use case, and the queries they take.
 * `{ recommendationId, modelVersion, strategy, fallback, items: [{ itemId, score, sources, explanation?, title? }] }`
 */
import { randomUUID } from 'node:crypto';
import type { ServingModel } from './serving-model.js';

/** Filters and size of any list. Filters apply before taking k; backfill keeps the list at k when k items qualify. */
export interface ListQuery {
  k: number;
  /** Item ids never to return. */
  exclude?: readonly string[];
  /** Only items in this category. */
  category?: string;
  /** Only items with a known unit price in [minPrice, maxPrice]. */
  minPrice?: number;
  maxPrice?: number;
  /** 0 = pure relevance; up to 1 = maximal marginal relevance favouring dissimilar items (content similarity). */
  diversity?: number;
}

export interface UserQuery extends ListQuery {
  /** `hybrid` (default) or one source of the active model. */
  strategy?: string;
  /** Default true: never return what the user has bought. */
  excludePurchased?: boolean;
}

export interface RecommendedItem {
  itemId: string;
  score: number;
  /** Shared between responses: never mutate. */
  sources: string[];
  explanation?: string;
  title?: string;
  /** Bought-together lists only. */
  support?: number;
  confidence?: number;
  lift?: number;
}

export type BoughtTogetherItem = RecommendedItem & { support: number; confidence: number; lift: number };

/**
 * Marks an answer made while a store it reads was unreachable (Redis, Postgres): its fallback is the
 * outage's, not the customer's (recsvc_serving_fallbacks_total reason `store-unavailable`). A symbol,
 * so it is never part of the JSON answer.
 */
export const DEGRADED: unique symbol = Symbol('degraded');
/**
 * Marks a single strategy's answer that is popularity because the customer's list of that source could not
 * be scored (the version's recommenders not loaded in time, or not kept): reason `list-unavailable`.
 */
export const UNLISTED: unique symbol = Symbol('unlisted');

/**
 * Strategies a list may carry besides the model's own (its sources and `hybrid`): the fallbacks and the
 * item lists' (recommend-for-context, item-lists, popular-items, db-popularity).
 */
export const LIST_STRATEGIES = ['popularity', 'context', 'content', 'cooccurrence'] as const;

export interface Recommendation<I extends RecommendedItem = RecommendedItem> {
  [DEGRADED]?: true;
  [UNLISTED]?: true;
  recommendationId: string;
  /** The model version that answered; null when no model is active (popularity from the database). */
  modelVersion: string | null;
  /** What produced the list: the strategy asked for, or the fallback used (`popularity`, `context`). */
  strategy: string;
  /** True when the answer is not the personalised one asked for (unknown user or item, no model, ...). */
  fallback: boolean;
  items: I[];
  /** The experiment and arm that chose the strategy (user recommendations without an explicit strategy). */
  experiment?: { id: string; arm: string };
}

/** One chosen item, by model index, before it becomes a RecommendedItem. */
export interface Pick {
  item: number;
  score: number;
  /** The sources behind the item, the one that put it on the list (its dominant source) first. */
  sources: readonly string[];
  explanation?: string;
  /**
   * The purchase (item index) the dominant source relates the item to, found at training time; -1 when
   * none was found then, undefined when nobody looked (explanations.ts searches now).
   */
  because?: number;
  stats?: { support: number; confidence: number; lift: number };
}

/** Six decimals are plenty for a ranking score and keep float32 noise out of the JSON (toPrecision is slow). */
export const roundScore = (s: number) => (Number.isFinite(s) ? Math.round(s * 1e6) / 1e6 : 0);

/** How an item is named in explanations: its title, else its id. */
export const nameOf = (model: ServingModel, item: number) => model.items.titles[item] || model.items.ids[item];

export function toRecommendation(model: ServingModel | null, strategy: string, fallback: boolean, picks: readonly Pick[]): Recommendation {
  return {
    recommendationId: randomUUID(),
    modelVersion: model?.meta.version ?? null,
    strategy,
    fallback,
    items: picks.map((p) => {
      const out: RecommendedItem = { itemId: model!.items.ids[p.item], score: roundScore(p.score), sources: p.sources as string[] };
      if (p.explanation) out.explanation = p.explanation;
      const title = model!.items.titles[p.item];
      if (title) out.title = title;
      if (p.stats) {
        out.support = roundScore(p.stats.support);
        out.confidence = roundScore(p.stats.confidence);
        out.lift = roundScore(p.stats.lift);
      }
      return out;
    }),
  };
}

/**
 * Scores of a run of popularity items taken in order (most popular first) onto `items`: proportional to
 * their counts, the first 1 when the run opens the list and just below the item before it otherwise, so
 * scores never rise down a list and a list of popularity alone scores its head 1.
 */
export function popularityRun(items: readonly { score: number }[]): (count: number) => number {
  const ceiling = items.length === 0 ? 1 : Math.max(0, items[items.length - 1].score) * 0.99;
  let first: number | undefined;
  return (count) => {
    first ??= count;
    return first > 0 ? (ceiling * Math.max(0, count)) / first : 0;
  };
}

/** "popular in France" for place-like attributes, "popular with segment=b2b" otherwise. */
export function popularPhrase(attr: { name: string; value: string } | undefined): string {
  if (!attr) return 'popular overall';
  return ['country', 'region', 'city', 'state'].includes(attr.name) ? `popular in ${attr.value}` : `popular with ${attr.name} ${attr.value}`;
}
