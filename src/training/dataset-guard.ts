import { AppError } from '../errors.js';
import type { Dataset } from '../recommenders/dataset.js';

/** What a training learned from, recorded in the model's metadata. */
export interface DataCounts {
  /** Purchase events in the training window. */
  events: number;
  /** Distinct buyers and bought items among those events. */
  users: number;
  items: number;
  orders: number;
  /** Items in the model's index (the catalog plus items seen only in events). */
  catalogItems: number;
}

/** Below these a model would be noise: training refuses instead of publishing it. */
export const MIN_TRAINING_DATA = { users: 2, items: 2, events: 10 } as const;

export function countData(ds: Dataset): DataCounts {
  const buyers = new Set<number>();
  const bought = new Set<number>();
  for (let e = 0; e < ds.eventUser.length; e++) {
    buyers.add(ds.eventUser[e]);
    bought.add(ds.eventItem[e]);
  }
  return { events: ds.eventUser.length, users: buyers.size, items: bought.size, orders: ds.orderCount, catalogItems: ds.itemIds.length };
}

/** Throws UNPROCESSABLE, naming what is missing, when the data is too small to train on. */
export function assertEnoughData(counts: DataCounts, min: { users: number; items: number; events: number } = MIN_TRAINING_DATA): void {
  const short = (['events', 'users', 'items'] as const).filter((k) => counts[k] < min[k]);
  if (short.length === 0) return;
  const have = short.map((k) => `${counts[k]} ${k} (need at least ${min[k]})`).join(', ');
  throw new AppError('UNPROCESSABLE', `not enough purchase data to train a model: ${have}; nothing was published`, [
    { counts, minimum: min },
  ]);
}
