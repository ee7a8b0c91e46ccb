/**
 * A tiny binary layout for per-user serving entries, read one per request. The model artifact format
 * (artifact.ts) carries a JSON header, which is right for big per-version artifacts decoded once but
 * would cost a JSON.parse on every request; these records hold only typed arrays whose types are fixed
 * by the record kind, so decoding is a few typed-array views on the bytes:
 *
 *   bytes 0..3   magic (uint32 LE, one per record kind)
 *   bytes 4..5   layout version (uint16 LE)
 *   bytes 6..7   array count n (uint16 LE)
 *   then n x uint32 LE array lengths (elements), then each array's bytes starting at a multiple of 8.
 */
import { ArtifactFormatError, type TypedArray } from '../recommenders/artifact.js';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor | Uint8ArrayConstructor;

/** A record kind: its magic, layout version and the constructor of each array, in order. */
export interface RecordLayout {
  magic: number;
  version: number;
  arrays: readonly Ctor[];
}

const align8 = (n: number) => (n + 7) & ~7;

export function encodeRecord(layout: RecordLayout, arrays: readonly TypedArray[]): Uint8Array {
  if (arrays.length !== layout.arrays.length) throw new Error(`record expects ${layout.arrays.length} arrays, got ${arrays.length}`);
  const head = align8(8 + 4 * arrays.length);
  let size = head;
  for (const a of arrays) size += align8(a.byteLength);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, layout.magic, true);
  view.setUint16(4, layout.version, true);
  view.setUint16(6, arrays.length, true);
  let offset = head;
  arrays.forEach((a, k) => {
    if (!(a instanceof layout.arrays[k])) throw new Error(`record array ${k} has the wrong type`);
    view.setUint32(8 + 4 * k, a.length, true);
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
    offset += align8(a.byteLength);
  });
  return out;
}

/**
 * Views over the record's arrays (no copy when the bytes are 8-byte aligned, one copy otherwise:
 * Buffers from a socket are often slices at odd offsets). Throws ArtifactFormatError on a bad record.
 */
export function decodeRecord(layout: RecordLayout, input: Uint8Array): TypedArray[] {
  let bytes = input;
  if (input.byteOffset % 8 !== 0) {
    // Not input.slice(): on a Buffer that is a view at the same odd offset, not a copy.
    bytes = new Uint8Array(input.byteLength);
    bytes.set(input);
  }
  if (bytes.byteLength < 8) throw new ArtifactFormatError('record too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== layout.magic || view.getUint16(4, true) !== layout.version) {
    throw new ArtifactFormatError('record of another kind or layout version');
  }
  const n = view.getUint16(6, true);
  if (n !== layout.arrays.length) throw new ArtifactFormatError(`record has ${n} arrays, expected ${layout.arrays.length}`);
  let offset = align8(8 + 4 * n);
  const out: TypedArray[] = [];
  for (let k = 0; k < n; k++) {
    const C = layout.arrays[k];
    const length = view.getUint32(8 + 4 * k, true);
    const byteLength = length * C.BYTES_PER_ELEMENT;
    if (offset + byteLength > bytes.byteLength) throw new ArtifactFormatError('record array runs past the end');
    out.push(new C(bytes.buffer as ArrayBuffer, bytes.byteOffset + offset, length));
    offset += align8(byteLength);
  }
  return out;
}
