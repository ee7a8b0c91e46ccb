/**
 * The explicit, versioned binary format of model artifacts. No eval, no generic object deserialization:
 *
 *   bytes 0..3   magic "RECM"
 *   bytes 4..5   format version (uint16 LE) = 1
 *   bytes 6..9   header length H (uint32 LE)
 *   bytes 10..   header: UTF-8 JSON { algorithm, version, trainedAt, params, meta, arrays: [{ name, type, length }] }
 *   then each array's raw little-endian bytes in header order, each starting at a multiple of 8.
 */
export type ArrayType = 'f32' | 'f64' | 'i32' | 'u32' | 'u8';
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;

export interface ArtifactHeader {
  algorithm: string;
  /** Version of this algorithm's layout, bumped when arrays or params change meaning. */
  version: number;
  trainedAt?: string;
  params?: unknown;
  /** Small JSON-safe extras (e.g. id lists, vocabulary); big data belongs in arrays. */
  meta?: Record<string, unknown>;
}

const MAGIC = 0x4d434552; // "RECM" read as uint32 LE
const FORMAT_VERSION = 1;
const CTORS = { f32: Float32Array, f64: Float64Array, i32: Int32Array, u32: Uint32Array, u8: Uint8Array } as const;

function typeOf(a: TypedArray): ArrayType {
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Float64Array) return 'f64';
  if (a instanceof Int32Array) return 'i32';
  if (a instanceof Uint32Array) return 'u32';
  return 'u8';
}

const align8 = (n: number) => (n + 7) & ~7;

export function encodeArtifact(header: ArtifactHeader, arrays: Record<string, TypedArray>): Uint8Array {
  const entries = Object.entries(arrays);
  const json = new TextEncoder().encode(
    JSON.stringify({ ...header, arrays: entries.map(([name, a]) => ({ name, type: typeOf(a), length: a.length })) }),
  );
  let size = align8(10 + json.length);
  for (const [, a] of entries) size += align8(a.byteLength);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint16(4, FORMAT_VERSION, true);
  view.setUint32(6, json.length, true);
  out.set(json, 10);
  let offset = align8(10 + json.length);
  for (const [, a] of entries) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
    offset += align8(a.byteLength);
  }
  return out;
}

export interface DecodedArtifact {
  header: ArtifactHeader;
  arrays: Record<string, TypedArray>;
}

export class ArtifactFormatError extends Error {}

type ParsedHeader = ArtifactHeader & { arrays: { name: string; type: ArrayType; length: number }[] };

/** The header's length, from an artifact's first 10 bytes (magic, format, length), checked. */
function headerLengthOf(start: Uint8Array): number {
  if (start.byteLength < 10) throw new ArtifactFormatError('artifact too short');
  const view = new DataView(start.buffer, start.byteOffset, start.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new ArtifactFormatError('not a model artifact (bad magic)');
  const format = view.getUint16(4, true);
  if (format !== FORMAT_VERSION) throw new ArtifactFormatError(`unsupported artifact format ${format}`);
  return view.getUint32(6, true);
}

const parseHeader = (json: Uint8Array): ParsedHeader => JSON.parse(new TextDecoder().decode(json)) as ParsedHeader;

/** Where each array of the header sits: 8-byte aligned, one after the other from the header's end. */
function placeArrays(parsed: ParsedHeader, headerLength: number): Map<string, ArrayPlace> {
  const arrays = new Map<string, ArrayPlace>();
  let offset = align8(10 + headerLength);
  for (const { name, type, length } of parsed.arrays) {
    const Ctor = CTORS[type];
    if (!Ctor) throw new ArtifactFormatError(`unknown array type ${type}`);
    arrays.set(name, { type, length, offset });
    offset += align8(length * Ctor.BYTES_PER_ELEMENT);
  }
  return arrays;
}

/**
 * Decodes and checks an artifact; `expect` guards against loading one algorithm's bytes as another's.
 * The arrays are copies, independent of `bytes`, unless `share` is set: then each array that is aligned
 * in `bytes` is a view of it (no copy: ALS's 120 MB at ten times Online Retail took 80 ms to copy), and
 * writing to one writes to `bytes`. Share only bytes the caller owns and does not reuse (a store read).
 */
export function decodeArtifact(bytes: Uint8Array, expect?: { algorithm: string; version: number }, opts: { share?: boolean } = {}): DecodedArtifact {
  const headerLength = headerLengthOf(bytes);
  const parsed = parseHeader(bytes.subarray(10, 10 + headerLength));
  if (expect && (parsed.algorithm !== expect.algorithm || parsed.version !== expect.version)) {
    throw new ArtifactFormatError(
      `expected ${expect.algorithm} v${expect.version}, got ${parsed.algorithm} v${parsed.version}`,
    );
  }
  const arrays: Record<string, TypedArray> = {};
  for (const [name, { type, length, offset }] of placeArrays(parsed, headerLength)) {
    const Ctor = CTORS[type];
    const byteLength = length * Ctor.BYTES_PER_ELEMENT;
    if (offset + byteLength > bytes.byteLength) throw new ArtifactFormatError(`array ${name} runs past the end`);
    const at = bytes.byteOffset + offset;
    if (opts.share && at % Ctor.BYTES_PER_ELEMENT === 0) arrays[name] = new Ctor(bytes.buffer as ArrayBuffer, at, length);
    else {
      // Copy so the result is aligned and independent of the input buffer.
      const copy = new Uint8Array(byteLength);
      copy.set(bytes.subarray(offset, offset + byteLength));
      arrays[name] = new Ctor(copy.buffer);
    }
  }
  const { arrays: _layout, ...header } = parsed;
  return { header, arrays };
}

/** Reads bytes [start, end) of a stored artifact; null when it is not there (a store's ranged read). */
export type ArtifactRangeReader = (start: number, end: number) => Promise<Uint8Array | null>;

/** A change of `bytes.length` bytes at `offset` of an artifact, written in place (an erasure's). */
export interface ArtifactPatch {
  offset: number;
  bytes: Uint8Array;
}

/** Where one array of an artifact sits: its first byte's offset from the artifact's start. */
export interface ArrayPlace {
  type: ArrayType;
  length: number;
  offset: number;
}

/** What artifactLayout reads first: the ten bytes before the header and a header of up to 4 KiB (all of ours: a few arrays). */
export const LAYOUT_FIRST_READ_BYTES = 4096;

/**
 * An artifact's header and where each array sits, read from its first bytes only (10 and the header, in one read
 * when the header is short):
 * what an erasure needs to overwrite a customer's row in place instead of reading and writing the whole
 * artifact. Null when the artifact is not there; throws ArtifactFormatError as decodeArtifact does.
 */
export async function artifactLayout(read: ArtifactRangeReader): Promise<{ header: ArtifactHeader; arrays: Map<string, ArrayPlace>; size: number } | null> {
  // The first bytes with a header of up to LAYOUT_FIRST_READ_BYTES in them: one read, one round trip to Redis (two
  // before: the ten bytes that give the header's length, then the header), the rest of a longer header read after.
  const start = await read(0, LAYOUT_FIRST_READ_BYTES);
  if (!start) return null;
  const headerLength = headerLengthOf(start);
  const json = start.byteLength >= 10 + headerLength ? start.subarray(10, 10 + headerLength) : await read(10, 10 + headerLength);
  if (!json) return null;
  if (json.byteLength < headerLength) throw new ArtifactFormatError('artifact header runs past the end');
  const parsed = parseHeader(json);
  const arrays = placeArrays(parsed, headerLength);
  const { arrays: _layout, ...header } = parsed;
  // Its length as encodeArtifact writes it: what a patch may require the stored one still to be.
  let size = align8(10 + headerLength);
  for (const { type, length } of arrays.values()) size += align8(length * CTORS[type].BYTES_PER_ELEMENT);
  return { header, arrays, size };
}
