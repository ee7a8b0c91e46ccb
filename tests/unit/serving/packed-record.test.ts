import { describe, expect, it } from 'vitest';
import { ArtifactFormatError } from '../../../src/recommenders/artifact.js';
import { decodeRecord, encodeRecord, type RecordLayout } from '../../../src/serving/packed-record.js';

const layout: RecordLayout = { magic: 0x54534554, version: 1, arrays: [Float64Array, Int32Array, Float32Array, Uint8Array] };

describe('packed records', () => {
  const arrays = [Float64Array.of(1.5, -2), Int32Array.of(7, 8, 9), Float32Array.of(0.25), Uint8Array.of(1, 2, 3, 4, 5)];

  it('When a record round-trips, Then every array comes back with its type and values', () => {
    const back = decodeRecord(layout, encodeRecord(layout, arrays));
    expect(back.map((a) => a.constructor)).toEqual(layout.arrays);
    expect(back.map((a) => [...a])).toEqual(arrays.map((a) => [...a]));
  });

  it('When the bytes sit at an odd offset of a Buffer (as sockets hand them over), Then they still decode', () => {
    const bytes = encodeRecord(layout, arrays);
    const pool = Buffer.alloc(bytes.length + 3);
    pool.set(bytes, 3);
    const back = decodeRecord(layout, pool.subarray(3));
    expect([...back[0]]).toEqual([1.5, -2]);
    expect([...back[1]]).toEqual([7, 8, 9]);
  });

  it('When the bytes are of another kind or cut short, Then decoding refuses them', () => {
    const bytes = encodeRecord(layout, arrays);
    expect(() => decodeRecord({ ...layout, magic: 1 }, bytes)).toThrow(ArtifactFormatError);
    expect(() => decodeRecord(layout, bytes.subarray(0, bytes.length - 16))).toThrow(ArtifactFormatError);
  });
});
