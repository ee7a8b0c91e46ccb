type GrowableArray = Int32Array | Float32Array | Float64Array | Uint8Array;

/**
 * `array` when it holds `need` values, else a copy at least twice as long (and at least `need`) with
 * its values at the start: amortised appends to typed arrays.
 */
export function grownTo<A extends GrowableArray>(array: A, need: number): A {
  if (need <= array.length) return array;
  const next = new (array.constructor as new (length: number) => A)(Math.max(need, array.length * 2));
  next.set(array);
  return next;
}
