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

/** Relative slack for float rounding: a segment's score that only equals its global part is not above it. */
const ABOVE = 1 + 1e-4;

/**
 * How a popularity pick is explained for someone in `segment`. A segment's list is shrunk towards the
 * global one (score = globalPart x the item's global score + the segment's own part), so it holds items the
 * segment never bought, ranked as everyone ranks them. "popular in France" is said only when the segment's
 * own part of the item's score is above zero (someone in it bought the item) and the segment ranks it at
 * least as high as the global list does, else "popular overall". A version trained before segments kept
 * their global part is judged by the ranks alone.
 */
export function popularityPhraseFor(model: ServingModel, segment: number, item: number): string {
  if (segment < 0) return popularPhrase(undefined);
  const s = model.popular.segments[segment];
  const inSegment = rankOf(model, segment)[item];
  if (inSegment < 0 || inSegment > rankOf(model, -1)[item]) return popularPhrase(undefined);
  const bought = s.globalPart === undefined || s.scores[inSegment] > ABOVE * s.globalPart * model.popular.score[item];
  return bought ? popularPhrase(s) : popularPhrase(undefined);
}
