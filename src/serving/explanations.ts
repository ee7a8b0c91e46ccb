/**
 * Honest explanations: an item is explained by the source that put it on the list (its dominant
 * source, the first of its `sources`), never by a weaker one. A popularity or trend item is never
 * "because you bought X"; a "because you bought X" names a purchase of the user that the dominant
 * source itself relates to the item (X lists the item among its stored neighbours in that source).
 */
import { findAnchorsBySource } from './anchor-finder.js';
import { BECAUSE_YOU_BOUGHT } from './neighbour-scores.js';
import { popularityPhraseFor } from './popularity-phrase.js';
import { listsOwnItemsOnly } from './own-item-sources.js';
import { popularityKind } from './popularity-sources.js';
import { nameOf, type Pick } from './recommendation.js';
import { familyOf, type ServingModel } from './serving-model.js';

export const BOUGHT_BEFORE = 'you bought this before';
export const TRENDING = 'trending now';
/** A personal source with no purchase to name (ALS factors, or a purchase older than the anchors searched). */
export const LIKE_YOURS = 'customers with purchases like yours bought this';

/** Item-based sources (by family) without a purchase to name: what the source does know. */
const WITHOUT_ANCHOR: Readonly<Record<string, string>> = {
  cooccurrence: 'often bought together with your purchases',
  'item-knn': 'bought by customers who bought what you bought',
  content: 'similar to products you bought',
  'user-knn': 'customers who shop like you buy this',
};

/** "because you bought X" in the words of the source (its family) that relates the item to X. */
export function becauseYouBought(family: string, x: string): string {
  return BECAUSE_YOU_BOUGHT[family]?.(x) ?? `because you bought ${x}`;
}

/**
 * The explanation of a source that names no purchase: popularity (of the user's segment when the
 * segment ranks the item at least as high as everyone does), trend, the user's own purchases, and
 * otherwise what the personal source knows.
 */
export function sourcePhrase(model: ServingModel, source: string | undefined, segment: number, item: number): string | undefined {
  if (source === undefined) return undefined;
  // By what the source is, not by what the recipe calls it.
  const family = familyOf(model, source);
  const kind = popularityKind(model.info, source, family);
  if (kind === 'popular') return popularityPhraseFor(model, segment, item);
  if (kind === 'trend') return TRENDING;
  if (listsOwnItemsOnly(model.info, source)) return BOUGHT_BEFORE;
  return WITHOUT_ANCHOR[family] ?? LIKE_YOURS;
}

/**
 * Completes the explanation of every pick without one, from its dominant source (`sources[0]`):
 * a stored anchor (`because` >= 0) is named as is; picks whose anchor is unknown (`because` undefined,
 * or -1 when there are `freshAnchors` training did not see) are searched among `anchors` (the user's
 * purchases, newest first) in their dominant source's neighbour lists only; the rest get sourcePhrase
 * (a user-kNN pick among `anchors` is a repurchase: "you bought this before").
 */
export function explainPicks(model: ServingModel, picks: Pick[], anchors: ArrayLike<number>, segment: number, freshAnchors = false): void {
  const open: Pick[] = [];
  for (const p of picks) {
    if (p.explanation !== undefined) continue;
    const source = p.sources[0];
    if (p.because !== undefined && p.because >= 0) p.explanation = becauseYouBought(familyOf(model, source), nameOf(model, p.because));
    else if ((p.because === undefined || freshAnchors) && model.neighbours.has(source)) open.push(p);
  }
  if (open.length > 0 && anchors.length > 0) {
    const found = findAnchorsBySource(model.neighbours, model.items.ids.length, open.map((p) => p.item), (k) => open[k].sources[0], anchors, anchors.length);
    open.forEach((p, k) => {
      if (found[k] >= 0) p.explanation = becauseYouBought(familyOf(model, p.sources[0]), nameOf(model, found[k]));
    });
  }
  // User-kNN scores the customer's own items too (their basket profile): those are repurchases.
  const userKnn = (p: Pick) => familyOf(model, p.sources[0]) === 'user-knn';
  const owned = picks.some((p) => p.explanation === undefined && userKnn(p)) ? new Set(Array.from(anchors)) : null;
  for (const p of picks) {
    if (p.explanation !== undefined) continue;
    p.explanation = owned?.has(p.item) && userKnn(p) ? BOUGHT_BEFORE : sourcePhrase(model, p.sources[0], segment, p.item);
  }
}
