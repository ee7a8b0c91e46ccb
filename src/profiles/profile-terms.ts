/**
 * What a customer buys, in words: the content terms of the titles of purchased items and the items'
 * categories, each weighted by the number of purchase lines (events) that carry it. A term repeated
 * inside one title counts once per line, so "HEART OF HEARTS" does not outweigh two different purchases.
 */
import type { Dataset } from '../recommenders/dataset.js';
import { tokenize } from '../recommenders/tokenize.js';

/** A term or category with its weight (number of purchase lines carrying it). */
export interface WeightedLabel {
  label: string;
  weight: number;
}

/** Distinct content terms of a title (the content recommender's tokenizer: lowercased, no stop words or numbers). */
export function titleTerms(title: string | null | undefined): string[] {
  return [...new Set(tokenize(title))];
}

/** Labels of every item as ids into one vocabulary, in CSR form (item i owns ids[ptr[i]..ptr[i+1])). */
export interface ItemLabels {
  vocabulary: string[];
  ptr: Int32Array;
  ids: Int32Array;
}

/** Indexes a label list per item (deduplicated within the item). */
export function indexItemLabels(ds: Dataset, labelsOf: (item: Dataset['items'][number]) => string[]): ItemLabels {
  const vocabulary: string[] = [];
  const index = new Map<string, number>();
  const ptr = new Int32Array(ds.items.length + 1);
  const ids: number[] = [];
  for (let i = 0; i < ds.items.length; i++) {
    for (const label of new Set(labelsOf(ds.items[i]))) {
      let id = index.get(label);
      if (id === undefined) index.set(label, (id = vocabulary.push(label) - 1));
      ids.push(id);
    }
    ptr[i + 1] = ids.length;
  }
  return { vocabulary, ptr, ids: Int32Array.from(ids) };
}

/**
 * Accumulates label weights over one customer's events and returns the top `k`. Reuses its scratch
 * arrays across customers, so a whole population costs one pass over the events.
 * Ties in weight are broken alphabetically so the output is deterministic.
 */
export function createTopLabels(labels: ItemLabels): (events: ArrayLike<number>, eventItem: Int32Array, from: number, to: number, k: number) => WeightedLabel[] {
  const weight = new Float64Array(labels.vocabulary.length);
  const touched = new Int32Array(labels.vocabulary.length);
  return (events, eventItem, from, to, k) => {
    let nTouched = 0;
    for (let p = from; p < to; p++) {
      const item = eventItem[events[p]];
      for (let q = labels.ptr[item]; q < labels.ptr[item + 1]; q++) {
        const id = labels.ids[q];
        if (weight[id] === 0) touched[nTouched++] = id;
        weight[id] += 1;
      }
    }
    const top = Array.from(touched.subarray(0, nTouched));
    top.sort((a, b) => weight[b] - weight[a] || (labels.vocabulary[a] < labels.vocabulary[b] ? -1 : 1));
    const out = top.slice(0, k).map((id) => ({ label: labels.vocabulary[id], weight: weight[id] }));
    for (let t = 0; t < nTouched; t++) weight[touched[t]] = 0;
    return out;
  };
}
