/**
 * Maps a fitted model's item indices onto another item list by id. Models store the item ids they
 * were fitted on; when a model is loaded against a catalogue that has since grown or been reordered,
 * each current item finds its fitted row (or none, -1) through this map.
 * Returns null when both lists are identical, so the common case costs no copying.
 */
export function itemRemap(fitted: readonly string[], current: readonly string[]): Int32Array | null {
  if (fitted.length === current.length && fitted.every((id, i) => id === current[i])) return null;
  const fittedIndex = new Map<string, number>();
  fitted.forEach((id, i) => fittedIndex.set(id, i));
  return Int32Array.from(current, (id) => fittedIndex.get(id) ?? -1);
}
