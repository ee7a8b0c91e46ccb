import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants } from 'node:zlib';
import { decodeSnapshot, encodeSnapshot, SnapshotFormatError, type VersionSnapshot } from './snapshot-codec.js';

/**
 * The durable copy of a model version kept in Postgres (src/data/model-copy-repository.ts): a byte stream of
 * frames, cut into chunks of at most COPY_CHUNK_BYTES, one Postgres row each (never one giant value).
 *
 *   frame = uint32 LE length · a snapshot (snapshot-codec.ts: magic, format, header, artifacts, tables, CRC-32)
 *
 * Each frame holds one artifact, or up to about COPY_FRAME_BYTES of one table's entries, so the writer holds at most
 * one frame's chunks besides what the training holds anyway (its artifacts; its rows are streamed): one chunk for a
 * table's frame, every chunk of an artifact's (the largest, 145 MiB at a 100,000-customer shop, is 36), and the reader
 * at most one frame (the largest artifact) and one chunk. Each frame is checked by its own CRC: a torn or
 * damaged copy is refused, never half put back. The frames' headers carry only the version's name: the version's
 * metadata is kept beside the chunks, written once the copy is whole.
 *
 * Stored compressed (packCopyChunk), each chunk on its own, so the reader holds one chunk at a time as before:
 *
 *   compressed chunk = uint32 LE 0 · "RMCB" · uint32 LE the chunk's length decoded · the chunk compressed (brotli)
 *
 * A copy is compressed when its first chunk begins so: no uncompressed copy's first chunk does (it begins with the
 * length of its first frame, never 0), so copies written uncompressed (the release before, MODEL_COPY_COMPRESSION
 * false) read back as they are. The leading 0 is what the reader of the release before takes for the length of a
 * first frame, which it refuses ("snapshot too short", a SnapshotFormatError) before it writes anything: a process
 * of that release left to restore a compressed copy refuses it as damaged and falls back to the retraining.
 */
export const COPY_CHUNK_BYTES = 4 * 1024 * 1024;
export const COPY_FRAME_BYTES = 1024 * 1024;

/** The header of a compressed chunk: a frame length of 0 (no frame has it), then "RMCB" (brotli). */
const PACKED_MAGIC = Buffer.from('RMCB');
const PACKED_HEADER_BYTES = 12;
/**
 * Brotli at quality 1: model data (float factors, encoded lists) shrinks to about 55% at any low setting, and this one
 * costs the training the least CPU of them (gzip or deflate at level 1 about 1.7 times as much; bench/README.md
 * "Model copies compressed").
 */
const PACK_QUALITY = 1;
const compressAsync = promisify(brotliCompress);
const decompressAsync = promisify(brotliDecompress);

const isPacked = (chunk: Uint8Array) =>
  chunk.byteLength >= PACKED_HEADER_BYTES && chunk[0] === 0 && chunk[1] === 0 && chunk[2] === 0 && chunk[3] === 0 && Buffer.from(chunk.buffer, chunk.byteOffset + 4, 4).equals(PACKED_MAGIC);

/** A chunk of the copy as stored compressed (in libuv's thread pool, off the event loop). */
export async function packCopyChunk(chunk: Uint8Array): Promise<Buffer> {
  const header = Buffer.alloc(PACKED_HEADER_BYTES);
  PACKED_MAGIC.copy(header, 4);
  header.writeUInt32LE(chunk.byteLength, 8);
  const params = { [constants.BROTLI_PARAM_QUALITY]: PACK_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: chunk.byteLength };
  return Buffer.concat([header, await compressAsync(chunk, { params })]);
}

/**
 * The copy's chunks as the encoder cut them, from the chunks as stored (compressed or not: its first chunk says
 * which, and every chunk of a compressed copy must be). A chunk that does not decompress, or not to the length its
 * header gives, is refused (SnapshotFormatError, as a damaged frame is); none decompresses past that length, and a
 * header that gives more than a chunk is cut to (`chunkBytes`, COPY_CHUNK_BYTES) is refused before anything is
 * decompressed: a damaged or forged header must not have the reader inflate up to 4 GiB. The chunk numbers pass
 * through unchanged.
 */
export async function* unpackCopyChunks<T extends { seq: number; bytes: Uint8Array }>(chunks: AsyncIterable<T>, chunkBytes = COPY_CHUNK_BYTES): AsyncGenerator<T> {
  let packed: boolean | null = null;
  for await (const chunk of chunks) {
    packed ??= isPacked(chunk.bytes);
    if (!packed) {
      yield chunk;
      continue;
    }
    if (!isPacked(chunk.bytes)) throw new SnapshotFormatError(`model copy chunk ${chunk.seq} is not compressed like the first one`);
    const stored = Buffer.from(chunk.bytes.buffer, chunk.bytes.byteOffset, chunk.bytes.byteLength);
    const length = stored.readUInt32LE(8);
    if (length > chunkBytes) throw new SnapshotFormatError(`model copy chunk ${chunk.seq} gives ${length} bytes decoded, more than a chunk's ${chunkBytes}`);
    let bytes: Buffer;
    try {
      bytes = await decompressAsync(stored.subarray(PACKED_HEADER_BYTES), { maxOutputLength: Math.max(length, 1) });
    } catch (err) {
      throw new SnapshotFormatError(`model copy chunk ${chunk.seq} does not decompress (${(err as Error).message})`);
    }
    if (bytes.length !== length) throw new SnapshotFormatError(`model copy chunk ${chunk.seq} decompresses to ${bytes.length} bytes, not ${length}`);
    yield { ...chunk, bytes };
  }
}

/** One frame's content: artifacts and table entries of the version. */
export type CopyPart = Pick<VersionSnapshot, 'artifacts' | 'tables'>;

/**
 * Takes a version's artifacts and entries as they are written and hands out the copy's chunks (`onChunk`, in
 * order, each a fresh buffer of COPY_CHUNK_BYTES but the last). Synchronous: the caller writes the chunks.
 */
export function createCopyEncoder(version: string, opts: { chunkBytes?: number; frameBytes?: number } = {}) {
  const chunkBytes = opts.chunkBytes ?? COPY_CHUNK_BYTES;
  const frameBytes = opts.frameBytes ?? COPY_FRAME_BYTES;
  const meta = { version, recipe: '', trainedAt: '', info: {} };
  const ready: Buffer[] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let table: { name: string; entries: Map<string, Uint8Array>; bytes: number } | null = null;
  let total = 0;

  const emit = (part: CopyPart) => {
    const body = encodeSnapshot({ meta, publishedAt: 0, ...part });
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32LE(body.length);
    for (const b of [length, body]) {
      pending.push(b);
      pendingBytes += b.length;
    }
    total += 4 + body.length;
    while (pendingBytes >= chunkBytes) cut(chunkBytes);
  };
  const cut = (n: number) => {
    const all = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
    ready.push(Buffer.from(all.subarray(0, n)));
    const rest = all.subarray(n);
    pending = rest.length > 0 ? [rest] : [];
    pendingBytes = rest.length;
  };
  const flushTable = () => {
    if (table && table.entries.size > 0) emit({ artifacts: new Map(), tables: new Map([[table.name, table.entries]]) });
    table = null;
  };

  return {
    artifact(name: string, data: Uint8Array): void {
      flushTable();
      emit({ artifacts: new Map([[name, data]]), tables: new Map() });
    },
    entry(name: string, key: string, value: Uint8Array): void {
      if (table?.name !== name) {
        flushTable();
        table = { name, entries: new Map(), bytes: 0 };
      }
      table.entries.set(key, value);
      table.bytes += 8 + key.length + value.byteLength;
      if (table.bytes >= frameBytes) flushTable();
    },
    /** The chunks made since the last call (complete ones only, unless `end`: then the rest too). */
    take(end = false): Buffer[] {
      if (end) {
        flushTable();
        if (pendingBytes > 0) cut(pendingBytes);
      }
      return ready.splice(0);
    },
    /** Bytes encoded so far. */
    get bytes(): number {
      return total;
    },
  };
}

/** The frames of a copy read back chunk by chunk, in order; throws SnapshotFormatError on a torn or damaged copy. */
export async function* decodeCopy(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<CopyPart> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let need = -1;
  const take = (n: number): Buffer => {
    const all = held.length === 1 ? held[0] : Buffer.concat(held, heldBytes);
    const rest = all.subarray(n);
    held = rest.length > 0 ? [rest] : [];
    heldBytes = rest.length;
    return all.subarray(0, n);
  };
  for await (const chunk of chunks) {
    held.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    heldBytes += chunk.byteLength;
    for (;;) {
      if (need < 0) {
        if (heldBytes < 4) break;
        need = take(4).readUInt32LE(0);
      }
      if (heldBytes < need) break;
      // Copied out: the frame's views must not pin the whole concatenation of chunks.
      const { artifacts, tables } = decodeSnapshot(Buffer.from(take(need)));
      need = -1;
      yield { artifacts, tables };
    }
  }
  if (need >= 0 || heldBytes > 0) throw new SnapshotFormatError('model copy truncated (a chunk is missing)');
}
