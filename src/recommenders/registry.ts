import { alsFactory } from './als.js';
import { buyAgainFactory } from './buy-again.js';
import { contentFactory } from './content.js';
import { cooccurrenceFactory } from './cooccurrence.js';
import { easeFactory } from './ease.js';
import { itemKnnFactory } from './item-knn.js';
import { popularityFactory } from './popularity.js';
import { learningPerGroup } from './grouped-recommender.js';
import type { RecommenderFactory } from './recommender.js';
import { repurchaseFactory } from './repurchase.js';
import { userKnnFactory } from './user-knn.js';

/**
 * Every recommender family a recipe can name, by name. The hybrid is not here: it fits nothing and
 * is built from already-fitted sources (see hybrid.ts). Popularity (and the trend), co-occurrence,
 * item-kNN and user-kNN learn per product group where the catalogue has groups (grouped-recommender.ts;
 * `perGroup: false` keeps one per product). ALS and EASE learn per group only when a recipe says
 * `perGroup: true` (or tuning chooses it on a grouped shop's windows, rolling-tune.ts tuningVariants): on the fashion shop's validation window per group cost them novel NDCG@10 (ALS
 * 0.153 -> 0.057, EASE 0.213 -> 0.175) while item-kNN gained (0.112 -> 0.163; bench/README.md, "Learning
 * per product group"). Buy-again and repurchase (a customer rebuys the variant they wear) and content
 * (each variant's own text) learn per product.
 */
export const recommenderFactories: Readonly<Record<string, RecommenderFactory<unknown>>> = Object.freeze({
  popularity: learningPerGroup(popularityFactory, { asOwnFamily: true }),
  'buy-again': buyAgainFactory,
  content: contentFactory,
  'item-knn': learningPerGroup(itemKnnFactory),
  als: learningPerGroup(alsFactory, { byDefault: false }),
  cooccurrence: learningPerGroup(cooccurrenceFactory),
  ease: learningPerGroup(easeFactory, { byDefault: false }),
  'user-knn': learningPerGroup(userKnnFactory),
  repurchase: repurchaseFactory,
} as Record<string, RecommenderFactory<unknown>>);

/** The factory registered under `name`, or undefined. */
export function recommenderFactory(name: string): RecommenderFactory<unknown> | undefined {
  return Object.hasOwn(recommenderFactories, name) ? recommenderFactories[name] : undefined;
}
