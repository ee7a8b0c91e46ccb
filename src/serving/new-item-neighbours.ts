/**
 * Neighbours of an item added to the catalog after the active version was trained, for its product
 * page: the version's content source (its stored recommender, loaded once per version) places the item
 * in the feature space it was fitted in (its title, description, categories, price band and attributes)
 * and ranks the items it knows by cosine. No other source knows an item nobody has bought yet.
 */
import { contentFactory, contentFromArtifact, isContentRecommender, type ContentRecommender } from '../recommenders/content.js';
import type { ItemInfo } from '../recommenders/dataset.js';
import type { Neighbour } from '../recommenders/recommender.js';
import { AppError, dependencyFailure } from '../errors.js';
import type { ListQuery } from './recommendation.js';
import { poolSize, waitedFor, type ServingDeps } from './serving-deps.js';
import { familySource, type ServingModel } from './serving-model.js';

/** A version's describer of new items: the content source's name and its fitted copy. */
export interface NewItemDescriber {
  source: string;
  content: ContentRecommender;
}

/** At most this many content neighbours of an item added after training are looked at. */
const MOST_NEIGHBOURS = 500;

/**
 * How deep to look for a list of `q`: more than it holds, since filters (price, category, availability)
 * drop some and content finds them all anyway; at least 100, at most MOST_NEIGHBOURS.
 */
export const newItemDepth = (q: ListQuery): number => Math.min(MOST_NEIGHBOURS, Math.max(100, 4 * poolSize(q)));

/** How long after the model store failed a load it is not tried again. */
export const RETRY_AFTER_FAILURE_MS = 10_000;
const failedAt = new WeakMap<ServingModel, number>();

/**
 * The `k` items of `model` most like `item` by content, best first, with the source that found them;
 * null when the version has no content source, stored none that can describe new items (trained before
 * that was kept), or the model store cannot be read now (a later request tries again).
 */
export async function newItemNeighbours(
  deps: Pick<ServingDeps, 'store' | 'log' | 'loadWaitMs'>,
  model: ServingModel,
  item: ItemInfo,
  k: number,
): Promise<{ source: string; neighbours: Neighbour[] } | null> {
  // A store that just failed the load is not asked again for a while: a Redis that stops answering
  // would otherwise hold every such request for its command timeout. Popularity answers meanwhile.
  if (!model.newItems && Date.now() - (failedAt.get(model) ?? -Infinity) < RETRY_AFTER_FAILURE_MS) return null;
  const loading = (model.newItems ??= loadDescriber(deps, model).catch((err: unknown) => {
    if (dependencyFailure(err)) {
      model.newItems = undefined;
      failedAt.set(model, Date.now());
    } else deps.log?.(`model ${model.meta.version}: cannot describe items added after training`, err);
    return null;
  }));
  const describer = await waitedFor(deps, loading);
  return describer && { source: describer.source, neighbours: describer.content.similarToNewItem(item, k) ?? [] };
}

async function loadDescriber(deps: Pick<ServingDeps, 'store'>, model: ServingModel): Promise<NewItemDescriber | null> {
  // The content source serving lists neighbours of: a recipe may give it another name than its family's.
  const source = familySource(model, contentFactory.name);
  if (!source) return null;
  // The version's scorer of customers not precomputed holds the same fitted source: a storefront process
  // loaded it before serving the version, so the first new product's page reads and decodes nothing.
  const loading = model.onRequest;
  const scorer = loading && (await loading);
  // Its load just failed because the store is down or hangs (then it is cleared for a later try): a read
  // of the content source would wait out another timeout. Popularity answers meanwhile.
  if (loading && !scorer && !model.onRequest) throw new AppError('DEPENDENCY_UNAVAILABLE', 'the model store did not answer');
  const scored = scorer?.source(source);
  const content = scored && isContentRecommender(scored) ? scored : await readContent(deps, model, source);
  if (!content) return null;
  // An artifact written before the feature space was kept cannot place a new item.
  return content.describesNewItems ? { source, content } : null;
}

async function readContent(deps: Pick<ServingDeps, 'store'>, model: ServingModel, source: string): Promise<ContentRecommender | null> {
  const bytes = await deps.store.getArtifact(model.meta.version, `recommender:${source}`);
  return bytes && contentFromArtifact(bytes, { itemIds: model.items.ids });
}
