import type { InteractionRow, InteractionType } from '../data/event-repository.js';
import type { EventWeights } from './recipe.js';

/** The non-purchase types a recipe gives a positive weight: the only ones training reads. */
export function weighedInteractionTypes(w: EventWeights): InteractionType[] {
  return (['view', 'add_to_cart', 'rating'] as const).filter((t) => w[t] > 0);
}

/**
 * What one interaction adds to its (user, item) weight, in orders: the type's weight, and for a rating
 * that weight times stars / 5 (a five-star rating counts the full rating weight, one star a fifth).
 */
export function signalWeight(w: EventWeights, row: Pick<InteractionRow, 'type' | 'value'>): number {
  if (row.type === 'rating') return Number.isFinite(row.value) ? (w.rating * row.value) / 5 : 0;
  return w[row.type];
}
