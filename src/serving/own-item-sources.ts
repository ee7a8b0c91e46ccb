import type { ServingModelInfo } from './serving-artifacts.js';

/**
 * Recommender families that score only the customer's own items (buy-again's formula, repurchase's
 * learned model). What such a source puts on a list is a repurchase: explained as "you bought this
 * before", and a list of that source alone keeps the customer's purchases unless told otherwise
 * (leaving them out would leave nothing of it).
 */
export const OWN_ITEM_FAMILIES: ReadonlySet<string> = new Set(['buy-again', 'repurchase']);

/**
 * Whether `source` (a strategy or source name of the model) scores only the customer's own items: by
 * the model's `ownItemSources` (its sources of those families, whatever the recipe named them), or for
 * a model trained before it recorded them, or no model, by the default recipe's names (the families').
 */
export function listsOwnItemsOnly(info: Pick<ServingModelInfo, 'ownItemSources'> | undefined, source: string): boolean {
  return info?.ownItemSources ? info.ownItemSources.includes(source) : OWN_ITEM_FAMILIES.has(source);
}
