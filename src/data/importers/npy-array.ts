/**
 * NumPy's `.npy` format (numpy.lib.format, versions 1.0-3.0), for the 2-D float arrays `implicit`
 * saves with `np.save`. Hand-parsed because the format is tiny and the header is a Python literal
 * that must never be evaluated:
 *
 *   bytes 0..5  magic "\x93NUMPY"; byte 6 major version, byte 7 minor
 *   v1: bytes 8..9 header length H (uint16 LE); v2, v3: bytes 8..11 (uint32 LE)
 *   then the header, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (100, 64), }
 *   padded with spaces and a newline, then the raw data (C order unless fortran_order).
 */

export class NpyFormatError extends Error {}

export interface NpyHeader {
  /** `f4` or `f8`. */
  dtype: 'f4' | 'f8';
  littleEndian: boolean;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the data. */
  dataOffset: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/** Reads and checks the header from the first bytes of a file (at least the whole header). */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new NpyFormatError('not a NumPy .npy file (bad magic)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start: number;
  let length: number;
  if (major === 1) [start, length] = [10, view.getUint16(8, true)];
  else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyFormatError('truncated .npy header');
    [start, length] = [12, view.getUint32(8, true)];
  } else throw new NpyFormatError(`unsupported .npy version ${major}.${bytes[7]}`);
  if (start + length > bytes.length) throw new NpyFormatError('truncated .npy header');
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + length));
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NpyFormatError(`.npy header lacks descr, fortran_order or shape: ${text.trim()}`);
  }
  const type = /^([<>=|])(f4|f8)$/.exec(descr);
  if (!type) throw new NpyFormatError(`dtype ${descr}: expected float32 or float64 ('<f4', '<f8', '>f4', '>f8')`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((n) => !Number.isSafeInteger(n) || n < 0)) throw new NpyFormatError(`bad shape (${shapeText})`);
  return { dtype: type[2] as 'f4' | 'f8', littleEndian: type[1] !== '>', fortranOrder: fortran === 'True', shape, dataOffset: start + length };
}

/** A 2-D float array as rows x columns, row-major float32 (what the ALS model keeps). */
export interface Matrix {
  rows: number;
  cols: number;
  values: Float32Array;
}

/** Decodes a whole 2-D float .npy file; fortran-ordered data is transposed to row-major. */
export function decodeNpyMatrix(bytes: Uint8Array): Matrix {
  const h = parseNpyHeader(bytes);
  if (h.shape.length !== 2) throw new NpyFormatError(`expected a 2-D array (rows x factors), got shape (${h.shape.join(', ')})`);
  const [rows, cols] = h.shape;
  const size = h.dtype === 'f4' ? 4 : 8;
  const expected = rows * cols * size;
  const available = bytes.length - h.dataOffset;
  if (available !== expected) {
    throw new NpyFormatError(`shape (${rows}, ${cols}) of ${h.dtype} needs ${expected} data bytes, the file has ${available}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + h.dataOffset, expected);
  const values = new Float32Array(rows * cols);
  for (let p = 0; p < rows * cols; p++) {
    const v = size === 4 ? view.getFloat32(p * 4, h.littleEndian) : view.getFloat64(p * 8, h.littleEndian);
    // Fortran order stores column by column: element p is (p % rows, p / rows).
    const at = h.fortranOrder ? (p % rows) * cols + Math.floor(p / rows) : p;
    values[at] = v;
  }
  return { rows, cols, values };
}

/** Encodes a row-major matrix as a version 1.0 .npy file (little-endian float32 or float64), as np.save writes it. */
export function encodeNpyMatrix(m: { rows: number; cols: number; values: ArrayLike<number> }, dtype: 'f4' | 'f8' = 'f4'): Uint8Array {
  const dict = `{'descr': '<${dtype}', 'fortran_order': False, 'shape': (${m.rows}, ${m.cols}), }`;
  // magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64, ending in "\n".
  const padded = Math.ceil((10 + dict.length + 1) / 64) * 64 - 10;
  const header = dict.padEnd(padded - 1, ' ') + '\n';
  const size = dtype === 'f4' ? 4 : 8;
  const out = new Uint8Array(10 + padded + m.rows * m.cols * size);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, padded, true);
  out.set(new TextEncoder().encode(header), 10);
  for (let p = 0; p < m.rows * m.cols; p++) {
    if (size === 4) view.setFloat32(10 + padded + p * 4, m.values[p], true);
    else view.setFloat64(10 + padded + p * 8, m.values[p], true);
  }
  return out;
}
