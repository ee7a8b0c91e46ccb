import { brotliCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { COPY_CHUNK_BYTES, createCopyEncoder, decodeCopy, packCopyChunk, unpackCopyChunks, type CopyPart } from '../../../src/store/model-copy-codec.js';
import { SnapshotFormatError } from '../../../src/store/snapshot-codec.js';

/** A version's copy (model-copy-codec.ts) cut into chunks and read back: what the restore puts into the store. */
const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

function encode(chunkBytes: number, frameBytes: number) {
  const enc = createCopyEncoder('v1', { chunkBytes, frameBytes });
  const chunks: Buffer[] = [];
  enc.artifact('profiles', bytes(1000, 1));
  chunks.push(...enc.take());
  for (let i = 0; i < 50; i++) enc.entry('users', `u${i}`, bytes(20 + i, i));
  enc.entry('items', 'i1', bytes(5, 9));
  enc.artifact('empty', new Uint8Array(0));
  chunks.push(...enc.take(true));
  return { chunks, total: enc.bytes };
}

async function* from(chunks: Uint8Array[]) {
  yield* chunks;
}

async function decoded(chunks: Uint8Array[]) {
  const artifacts = new Map<string, Uint8Array>();
  const tables = new Map<string, Map<string, Uint8Array>>();
  const parts: CopyPart[] = [];
  for await (const part of decodeCopy(from(chunks))) {
    parts.push(part);
    for (const [n, d] of part.artifacts) artifacts.set(n, Uint8Array.from(d));
    for (const [n, t] of part.tables) for (const [k, v] of t) (tables.get(n) ?? tables.set(n, new Map()).get(n)!).set(k, Uint8Array.from(v));
  }
  return { artifacts, tables, parts };
}

describe('the copy of a model version kept in Postgres', () => {
  it('When it is cut into chunks smaller than its frames, Then every chunk but the last is of the chunk size and it reads back whole', async () => {
    const { chunks, total } = encode(97, 200);
    expect(chunks.slice(0, -1).every((c) => c.length === 97)).toBe(true);
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(total);
    const back = await decoded(chunks);
    expect(back.artifacts.get('profiles')).toEqual(bytes(1000, 1));
    expect(back.artifacts.get('empty')).toEqual(new Uint8Array(0));
    expect(back.tables.get('users')!.size).toBe(50);
    expect(back.tables.get('users')!.get('u49')).toEqual(bytes(69, 49));
    expect(back.tables.get('items')!.get('i1')).toEqual(bytes(5, 9));
    // A table's entries are split into frames of about frameBytes, so no frame holds a whole large table.
    expect(back.parts.filter((p) => p.tables.has('users')).length).toBeGreaterThan(3);
  });

  it('When chunks are larger than the whole copy, Then it is one chunk and reads back the same', async () => {
    const { chunks } = encode(1 << 20, 1 << 20);
    expect(chunks).toHaveLength(1);
    expect((await decoded(chunks)).tables.get('users')!.size).toBe(50);
  });

  it('When a byte of a chunk is damaged or a chunk is missing, Then the copy is refused, not half read', async () => {
    const { chunks } = encode(97, 200);
    const damaged = chunks.map((c) => Buffer.from(c));
    damaged[3][10] ^= 0xff;
    await expect(decoded(damaged)).rejects.toBeInstanceOf(SnapshotFormatError);
    await expect(decoded(chunks.slice(0, -1))).rejects.toBeInstanceOf(SnapshotFormatError);
  });
});

describe('the copy stored compressed, chunk by chunk', () => {
  const numbered = async function* (chunks: Uint8Array[]) {
    for (const [seq, bytes] of chunks.entries()) yield { seq, bytes };
  };
  const unpacked = async (chunks: Uint8Array[]) => {
    const out: Uint8Array[] = [];
    for await (const c of unpackCopyChunks(numbered(chunks))) out.push(c.bytes);
    return out;
  };

  it('When its chunks are stored compressed, Then they read back as cut, with their numbers, and the copy decodes whole', async () => {
    const { chunks } = encode(97, 200);
    const packed = await Promise.all(chunks.map((c) => packCopyChunk(c)));
    const back = await unpacked(packed);
    expect(back.map((c) => Buffer.from(c).toString('hex'))).toEqual(chunks.map((c) => c.toString('hex')));
    expect((await decoded(back)).tables.get('users')!.size).toBe(50);
  });

  it('When its chunks were stored uncompressed (the release before), Then they read back unchanged', async () => {
    const { chunks } = encode(97, 200);
    expect(await unpacked(chunks)).toEqual(chunks);
  });

  it('When a compressed copy holds a chunk stored uncompressed, or one that decompresses past the length its header gives, Then it is refused as damaged', async () => {
    const { chunks } = encode(97, 200);
    const packed = await Promise.all(chunks.map((c) => packCopyChunk(c)));
    await expect(unpacked([packed[0], chunks[1]])).rejects.toThrow(SnapshotFormatError);
    const lying = Buffer.from(packed[1]);
    lying.writeUInt32LE(10, 8);
    await expect(unpacked([packed[0], lying])).rejects.toThrow(SnapshotFormatError);
  });

  it('When a compressed chunk\'s header gives more than it decompresses to, Then it is refused, though its bytes would decode whole', async () => {
    // Only the header is damaged: the stream inflates to the chunk as cut, within the limit the header sets, so
    // the comparison of the two lengths is all that sees it.
    const { chunks } = encode(97, 200);
    const packed = await Promise.all(chunks.map((c) => packCopyChunk(c)));
    const longer = Buffer.from(packed[1]);
    longer.writeUInt32LE(longer.readUInt32LE(8) + 1, 8);
    await expect(unpacked([packed[0], longer, ...packed.slice(2)])).rejects.toThrow(/chunk 1 decompresses to 97 bytes, not 98/);
  });

  it('When a chunk of a compressed copy has a damaged mark (not "0000RMCB") over a body that would inflate, Then it is refused, not read as compressed', async () => {
    // Each byte of the mark in turn: read past it, the chunk's length and stream are intact and decode to the chunk as cut.
    const { chunks } = encode(97, 200);
    const packed = await Promise.all(chunks.map((c) => packCopyChunk(c)));
    for (const at of [0, 3, 4, 7]) {
      const marred = Buffer.from(packed[2]);
      marred[at] ^= 0x01;
      await expect(unpacked([...packed.slice(0, 2), marred, ...packed.slice(3)]), `byte ${at}`).rejects.toThrow(/chunk 2 is not compressed like the first one/);
    }
  });

  it('When a compressed chunk\'s header gives more than a chunk holds (damaged, or a decompression bomb), Then it is refused, not inflated', async () => {
    // 64 MiB of zeros compress to a few KiB: with the header's length trusted, the reader would inflate all of it.
    const inflated = COPY_CHUNK_BYTES * 16;
    const header = Buffer.alloc(12);
    Buffer.from('RMCB').copy(header, 4);
    header.writeUInt32LE(inflated, 8);
    const bomb = Buffer.concat([header, brotliCompressSync(Buffer.alloc(inflated))]);
    expect(bomb.length).toBeLessThan(64 * 1024);
    // The lengths read, not the bytes: a failure prints no 64 MiB buffer.
    const lengths = async (chunks: Uint8Array[]) => {
      const out: number[] = [];
      for await (const c of unpackCopyChunks(numbered(chunks))) out.push(c.bytes.byteLength);
      return out;
    };
    await expect(lengths([bomb])).rejects.toThrow(/more than a chunk's/);
    const { chunks } = encode(97, 200);
    await expect(lengths([await packCopyChunk(chunks[0]), bomb])).rejects.toThrow(SnapshotFormatError);
  });
});
