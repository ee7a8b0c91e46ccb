import { popularPhrase } from './recommendation.js';
import type { ServingModel } from './serving-model.js';

/** Rank of every item in a list (-1 when absent), built once per list and model. */
function ranks(itemCount: number, list: ArrayLike<number>): Int32Array {
  const out = new Int32Array(itemCount).fill(-1);
  for (let r = 0; r < list.length; r++) out[list[r]] = r;
  return out;
}

const cache = new WeakMap<ServingModel, Map<number, Int32Array>>();

function rankOf(model: ServingModel, segment: number): Int32Array {
  let byList = cache.get(model);
  if (!byList) cache.set(model, (byList = new Map()));
  let r = byList.get(segment);
  if (!r) {
    const list = segment < 0 ? model.popular.order : model.popular.segments[segment].items;
    byList.set(segment, (r = ranks(model.items.ids.length, list)));
  }
  return r;
}

/**
 * How a popularity pick is explained for someone in `segment`. A segment's list is shrunk towards the
 * global one, so an item can be on it only because everyone buys it; "popular in France" is said only
 * when the segment ranks the item at least as high as the global list does, else "popular overall".
 */
export function popularityPhraseFor(model: ServingModel, segment: number, item: number): string {
  if (segment < 0) return popularPhrase(undefined);
  const inSegment = rankOf(model, segment)[item];
  return inSegment >= 0 && inSegment <= rankOf(model, -1)[item] ? popularPhrase(model.popular.segments[segment]) : popularPhrase(undefined);
}
