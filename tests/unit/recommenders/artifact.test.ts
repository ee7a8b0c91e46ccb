import { describe, expect, it } from 'vitest';
import { ArtifactFormatError, decodeArtifact, encodeArtifact } from '../../../src/recommenders/artifact.js';

describe('model artifact format', () => {
  it('round-trips header and typed arrays of every type, including odd lengths', () => {
    const arrays = {
      a: Float32Array.from([1.5, -2, 3]),
      b: Float64Array.from([Math.PI]),
      c: Int32Array.from([-7, 8, 9, 10, 11]),
      d: Uint32Array.from([4_000_000_000]),
      e: Uint8Array.from([1, 2, 3]),
    };
    const bytes = encodeArtifact({ algorithm: 'x', version: 2, params: { k: 5 }, meta: { ids: ['p', 'q'] } }, arrays);
    const { header, arrays: back } = decodeArtifact(bytes, { algorithm: 'x', version: 2 });
    expect(header).toEqual({ algorithm: 'x', version: 2, params: { k: 5 }, meta: { ids: ['p', 'q'] } });
    expect(back).toEqual(arrays);
  });

  it('When asked to share, Then aligned arrays are views of the bytes, and other arrays and the default are copies', () => {
    const arrays = { f: Float32Array.from([1, 2, 3]), d: Float64Array.from([4, 5]) };
    const bytes = encodeArtifact({ algorithm: 'x', version: 1 }, arrays);
    const shared = decodeArtifact(bytes, undefined, { share: true }).arrays;
    const copied = decodeArtifact(bytes).arrays;
    expect(shared).toEqual(arrays);
    shared.f[0] = 9;
    expect(decodeArtifact(bytes).arrays.f[0]).toBe(9);
    expect(copied.f[0]).toBe(1);
    // The same artifact one byte into a buffer: nothing is aligned, so everything is copied.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const unaligned = decodeArtifact(shifted.subarray(1), undefined, { share: true }).arrays;
    expect(unaligned.d).toEqual(arrays.d);
    unaligned.d[0] = 7;
    expect(decodeArtifact(shifted.subarray(1)).arrays.d[0]).toBe(4);
  });

  it('rejects bytes that are not an artifact, and an artifact of another algorithm', () => {
    expect(() => decodeArtifact(new TextEncoder().encode('{"algorithm":"x"}'))).toThrow(ArtifactFormatError);
    const bytes = encodeArtifact({ algorithm: 'als', version: 1 }, {});
    expect(() => decodeArtifact(bytes, { algorithm: 'knn', version: 1 })).toThrow(/expected knn v1, got als v1/);
  });

  it('rejects a truncated artifact instead of reading past the end', () => {
    const bytes = encodeArtifact({ algorithm: 'x', version: 1 }, { a: new Float64Array(100) });
    expect(() => decodeArtifact(bytes.subarray(0, bytes.length - 16))).toThrow(/runs past the end/);
  });
});
