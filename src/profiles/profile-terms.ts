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

/**
 * Labels of every item as ids into one vocabulary, in CSR form (item i owns ids[ptr[i]..ptr[i+1])).
 * The vocabulary is sorted, so comparing ids compares labels alphabetically.
 */
export interface ItemLabels {
  vocabulary: string[];
  ptr: Int32Array;
  ids: Int32Array;
}

/** Indexes a label list per item (deduplicated within the item). */
export function indexItemLabels(ds: Dataset, labelsOf: (item: Dataset['items'][number]) => string[]): ItemLabels {
  const perItem = ds.items.map((item) => [...new Set(labelsOf(item))]);
  const vocabulary = [...new Set(perItem.flat())].sort();
  const index = new Map(vocabulary.map((label, id) => [label, id]));
  const ptr = new Int32Array(ds.items.length + 1);
  const ids: number[] = [];
  perItem.forEach((labels, i) => {
    for (const label of labels) ids.push(index.get(label)!);
    ptr[i + 1] = ids.length;
  });
  return { vocabulary, ptr, ids: Int32Array.from(ids) };
}

/**
 * Accumulates label weights over one customer's events (event indices events[from..to)) and returns the
 * top `k`, heaviest first, ties broken alphabetically so the output is deterministic. Reuses its scratch
 * arrays across customers, so a whole population costs one pass over the events.
 */
export function createTopLabels(
  labels: ItemLabels,
): (events: ArrayLike<number>, eventItem: Int32Array, from: number, to: number, k: number) => WeightedLabel[] {
  const weight = new Float64Array(labels.vocabulary.length);
  const touched = new Int32Array(labels.vocabulary.length);
  // a ranks before b: heavier, or as heavy and alphabetically first (ids follow the sorted vocabulary).
  const before = (a: number, b: number) => weight[a] > weight[b] || (weight[a] === weight[b] && a < b);
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
    // Insertion into a sorted top-k list: k is small (about 10), most labels fail the first comparison.
    const top: number[] = [];
    for (let t = 0; t < nTouched; t++) {
      const id = touched[t];
      if (top.length === k && (k === 0 || !before(id, top[k - 1]))) continue;
      let at = top.length < k ? top.length : k - 1;
      while (at > 0 && before(id, top[at - 1])) at--;
      if (top.length === k) top.pop();
      top.splice(at, 0, id);
    }
    const out = top.map((id) => ({ label: labels.vocabulary[id], weight: weight[id] }));
    for (let t = 0; t < nTouched; t++) weight[touched[t]] = 0;
    return out;
  };
}
