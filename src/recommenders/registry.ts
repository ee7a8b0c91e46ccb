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
 * is built from already-fitted sources (see hybrid.ts). The population-sensitive families learn per
 * product group where the catalogue has groups (grouped-recommender.ts; `perGroup: false` keeps one
 * per product); buy-again and repurchase (a customer rebuys the variant they wear), content (each
 * variant's own text) learn per product.
 */
export const recommenderFactories: Readonly<Record<string, RecommenderFactory<unknown>>> = Object.freeze({
  popularity: learningPerGroup(popularityFactory, { asOwnFamily: true }),
  'buy-again': buyAgainFactory,
  content: contentFactory,
  'item-knn': learningPerGroup(itemKnnFactory),
  als: learningPerGroup(alsFactory),
  cooccurrence: learningPerGroup(cooccurrenceFactory),
  ease: learningPerGroup(easeFactory),
  'user-knn': learningPerGroup(userKnnFactory),
  repurchase: repurchaseFactory,
} as Record<string, RecommenderFactory<unknown>>);

/** The factory registered under `name`, or undefined. */
export function recommenderFactory(name: string): RecommenderFactory<unknown> | undefined {
  return Object.hasOwn(recommenderFactories, name) ? recommenderFactories[name] : undefined;
}
