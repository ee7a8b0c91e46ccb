import { crc32 } from 'node:zlib';
import type { ModelMeta } from './model-store.js';

/**
 * The on-disk format of one published model version of the in-process store. Explicit and
 * length-prefixed, no generic deserialization (only the metadata record is JSON). All integers
 * are uint32 little-endian; strings are UTF-8 and prefixed by their byte length.
 *
 *   magic "RMSV" · format version = 1
 *   header length · header JSON { meta, publishedAt }
 *   artifact count · per artifact: name, data length, data
 *   table count · per table: name, entry count · per entry: key, value length, value
 *   CRC-32 of every byte before it (a torn or damaged file is refused, never half-loaded)
 */
export interface VersionSnapshot {
  meta: ModelMeta;
  /** Publish order key (ms, strictly increasing across versions). */
  publishedAt: number;
  artifacts: Map<string, Uint8Array>;
  tables: Map<string, Map<string, Uint8Array>>;
}

export class SnapshotFormatError extends Error {}

const MAGIC = 0x56534d52; // "RMSV" read as uint32 LE
const FORMAT_VERSION = 1;

export function encodeSnapshot(s: VersionSnapshot): Buffer {
  // Two passes: measure, then fill one buffer, so the file is written with a single write.
  const header = Buffer.from(JSON.stringify({ meta: s.meta, publishedAt: s.publishedAt }));
  const text = new Map<string, Buffer>();
  const utf8 = (str: string) => {
    let b = text.get(str);
    if (!b) text.set(str, (b = Buffer.from(str)));
    return b;
  };
  let size = 4 * 3 + header.length + 4;
  for (const [name, data] of s.artifacts) size += 8 + utf8(name).length + data.byteLength;
  size += 4;
  for (const [name, entries] of s.tables) {
    size += 8 + utf8(name).length;
    // Entry keys are not cached: a table can hold millions of them.
    for (const [key, value] of entries) size += 8 + Buffer.byteLength(key) + value.byteLength;
  }
  size += 4;

  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  const u32 = (n: number) => (pos = out.writeUInt32LE(n, pos));
  const bytes = (b: Uint8Array) => {
    u32(b.byteLength);
    out.set(b, pos);
    pos += b.byteLength;
  };
  u32(MAGIC);
  u32(FORMAT_VERSION);
  bytes(header);
  u32(s.artifacts.size);
  for (const [name, data] of s.artifacts) {
    bytes(utf8(name));
    bytes(data);
  }
  u32(s.tables.size);
  for (const [name, entries] of s.tables) {
    bytes(utf8(name));
    u32(entries.size);
    for (const [key, value] of entries) {
      bytes(Buffer.from(key));
      bytes(value);
    }
  }
  u32(crc32(out.subarray(0, pos)) >>> 0);
  return out;
}

/** Decodes a snapshot; the byte values are views into `buf` (callers copy what they hand out). */
export function decodeSnapshot(buf: Buffer): VersionSnapshot {
  if (buf.length < 16) throw new SnapshotFormatError('snapshot too short');
  const body = buf.length - 4;
  if ((crc32(buf.subarray(0, body)) >>> 0) !== buf.readUInt32LE(body)) {
    throw new SnapshotFormatError('snapshot checksum mismatch (torn or damaged file)');
  }
  let pos = 0;
  const u32 = () => {
    if (pos + 4 > body) throw new SnapshotFormatError('snapshot truncated');
    const n = buf.readUInt32LE(pos);
    pos += 4;
    return n;
  };
  const bytes = () => {
    const n = u32();
    if (pos + n > body) throw new SnapshotFormatError('snapshot field runs past the end');
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const str = () => bytes().toString('utf8');
  if (u32() !== MAGIC) throw new SnapshotFormatError('not a model store snapshot (bad magic)');
  const format = u32();
  if (format !== FORMAT_VERSION) throw new SnapshotFormatError(`unsupported snapshot format ${format}`);
  const { meta, publishedAt } = JSON.parse(str()) as { meta: ModelMeta; publishedAt: number };
  const artifacts = new Map<string, Uint8Array>();
  for (let n = u32(); n > 0; n--) {
    const name = str();
    artifacts.set(name, bytes());
  }
  const tables = new Map<string, Map<string, Uint8Array>>();
  for (let t = u32(); t > 0; t--) {
    const name = str();
    const entries = new Map<string, Uint8Array>();
    for (let n = u32(); n > 0; n--) {
      const key = str();
      entries.set(key, bytes());
    }
    tables.set(name, entries);
  }
  if (pos !== body) throw new SnapshotFormatError('snapshot has trailing bytes');
  return { meta, publishedAt, artifacts, tables };
}
