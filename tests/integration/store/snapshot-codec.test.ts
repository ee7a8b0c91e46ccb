import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeSnapshot, SnapshotFormatError, type VersionSnapshot } from '../../../src/store/snapshot-codec.js';

const meta = { version: 'v1', recipe: 'r', trainedAt: '2026-01-01T00:00:00.000Z', info: { users: 2 } };

describe('snapshot codec', () => {
  const sample = (): VersionSnapshot => ({
    meta,
    publishedAt: 1_700_000_000_000,
    artifacts: new Map([
      ['model', new Uint8Array([1, 2, 3])],
      ['empty', new Uint8Array(0)],
    ]),
    tables: new Map([
      ['users', new Map([['ü|1', new Uint8Array([255, 0])], ['', new Uint8Array(0)]])],
      ['none', new Map()],
    ]),
  });
  const plain = (s: VersionSnapshot) => ({
    ...s,
    artifacts: [...s.artifacts].map(([k, v]) => [k, Array.from(v)]),
    tables: [...s.tables].map(([t, m]) => [t, [...m].map(([k, v]) => [k, Array.from(v)])]),
  });

  it('When a version is encoded and decoded, Then names, bytes and metadata come back exactly', () => {
    expect(plain(decodeSnapshot(encodeSnapshot(sample())))).toEqual(plain(sample()));
  });

  it('When an empty version is encoded, Then the layout is magic, format, header, two zero counts and a CRC', () => {
    const header = JSON.stringify({ meta, publishedAt: 5 });
    const buf = encodeSnapshot({ meta, publishedAt: 5, artifacts: new Map(), tables: new Map() });
    expect(buf.subarray(0, 4).toString('latin1')).toBe('RMSV');
    expect(buf.readUInt32LE(4)).toBe(1);
    expect(buf.readUInt32LE(8)).toBe(header.length);
    expect(buf.subarray(12, 12 + header.length).toString()).toBe(header);
    expect(buf.length).toBe(12 + header.length + 4 + 4 + 4);
    expect(buf.readUInt32LE(buf.length - 4)).toBe(crc32(buf.subarray(0, buf.length - 4)) >>> 0);
  });

  it('When a byte is flipped or the file is cut short, Then decoding refuses it', () => {
    const buf = encodeSnapshot(sample());
    const flipped = Buffer.from(buf);
    flipped[20] ^= 1;
    expect(() => decodeSnapshot(flipped)).toThrow(SnapshotFormatError);
    expect(() => decodeSnapshot(buf.subarray(0, buf.length - 7))).toThrow(SnapshotFormatError);
    // A consistent checksum over a foreign magic is still not a snapshot.
    const foreign = Buffer.from(buf);
    foreign.write('XXXX', 0, 'latin1');
    foreign.writeUInt32LE(crc32(foreign.subarray(0, foreign.length - 4)) >>> 0, foreign.length - 4);
    expect(() => decodeSnapshot(foreign)).toThrow(/bad magic/);
  });
});
