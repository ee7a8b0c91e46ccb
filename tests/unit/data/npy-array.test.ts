import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeNpyMatrix, encodeNpyMatrix, NpyFormatError } from '../../../src/data/importers/npy-array.js';

const written = (name: string) => new Uint8Array(readFileSync(path.join('tests/fixtures/factors/numpy-written', name)));

describe('.npy arrays', () => {
  it('When NumPy wrote a float64 array in Fortran order, Then it reads back row-major with the same values', () => {
    // np.asfortranarray(np.arange(12).reshape(3, 4)): row r, column c holds 4r + c.
    const m = decodeNpyMatrix(written('f64_fortran.npy'));
    expect([m.rows, m.cols]).toEqual([3, 4]);
    expect([...m.values]).toEqual(Array.from({ length: 12 }, (_, p) => p));
  });

  it('When NumPy wrote big-endian and little-endian float32, Then both read as NumPy holds them', () => {
    expect([...decodeNpyMatrix(written('f32_be.npy')).values]).toEqual([0, 1, 2, 3, 4, 5]);
    expect([...decodeNpyMatrix(written('f32_c.npy')).values]).toEqual([0, 1, 2, 3, 4, 5].map((v) => (v - 2.5) / 4));
  });

  it('When the array is not 2-D floats, Then it is refused naming the dtype or shape', () => {
    expect(() => decodeNpyMatrix(written('i64.npy'))).toThrow(/dtype <i8: expected float32 or float64/);
    expect(() => decodeNpyMatrix(written('f32_1d.npy'))).toThrow(/expected a 2-D array .*shape \(3\)/);
    expect(() => decodeNpyMatrix(new TextEncoder().encode('id,features\n'))).toThrow(NpyFormatError);
  });

  it('When a file is cut short, Then the missing bytes are named', () => {
    const whole = encodeNpyMatrix({ rows: 2, cols: 2, values: [1, 2, 3, 4] });
    expect(() => decodeNpyMatrix(whole.subarray(0, whole.length - 4))).toThrow(/needs 16 data bytes, the file has 12/);
  });

  it('When this module writes a matrix, Then the header is what np.save writes for the same array and it reads back', () => {
    const ours = encodeNpyMatrix({ rows: 2, cols: 3, values: [0, 1, 2, 3, 4, 5].map((v) => (v - 2.5) / 4) });
    expect(Buffer.from(ours).equals(Buffer.from(written('f32_c.npy')))).toBe(true);
    const f8 = decodeNpyMatrix(encodeNpyMatrix({ rows: 1, cols: 2, values: [0.1, -3] }, 'f8'));
    expect([...f8.values]).toEqual([Math.fround(0.1), -3]);
  });
});
