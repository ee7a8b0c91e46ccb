/**
 * The ArrayBuffers behind a result's byte arrays, to transfer rather than copy when a thread posts it:
 * a training's tables are most of its memory (about 1 GB at 16x Online Retail), and a copy would
 * briefly hold them twice. Only whole, unshared buffers are listed (a view into a larger buffer, or a
 * SharedArrayBuffer, is copied as usual).
 */
export function ownedBuffers(arrays: Iterable<Uint8Array>): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const a of arrays) {
    const b = a.buffer;
    if (b instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === b.byteLength) out.add(b);
  }
  return [...out];
}
