import { ArtifactFormatError } from './artifact.js';

/** Many strings as one UTF-8 byte array plus offsets (count + 1): compact in an artifact, no JSON. */
export function packStrings(strings: readonly string[]): { bytes: Uint8Array; offsets: Uint32Array } {
  const encoder = new TextEncoder();
  const parts = strings.map((s) => encoder.encode(s));
  const offsets = new Uint32Array(strings.length + 1);
  for (let k = 0; k < parts.length; k++) offsets[k + 1] = offsets[k] + parts[k].length;
  const bytes = new Uint8Array(offsets[strings.length]);
  for (let k = 0; k < parts.length; k++) bytes.set(parts[k], offsets[k]);
  return { bytes, offsets };
}

/** The strings `from` to `to` (exclusive; default all) of packed ones, so a long list can be read a part at a time. */
export function unpackStrings(bytes: unknown, offsets: unknown, what: string, from = 0, to?: number): string[] {
  if (!(bytes instanceof Uint8Array) || !(offsets instanceof Uint32Array) || offsets.length === 0) {
    throw new ArtifactFormatError(`${what}: missing string arrays`);
  }
  const end = Math.min(to ?? offsets.length - 1, offsets.length - 1);
  const decoder = new TextDecoder();
  const out: string[] = new Array(Math.max(0, end - from));
  for (let k = from; k < end; k++) {
    if (offsets[k] > offsets[k + 1] || offsets[k + 1] > bytes.length) throw new ArtifactFormatError(`${what}: bad string offsets`);
    out[k - from] = decoder.decode(bytes.subarray(offsets[k], offsets[k + 1]));
  }
  return out;
}

/**
 * The positions of packed strings (packStrings) that are among `wanted`, found by comparing UTF-8 bytes:
 * no string is made per entry, so a list of hundreds of thousands is searched in a few milliseconds.
 */
export function packedPositionsOf(bytes: Uint8Array, offsets: Uint32Array, wanted: Iterable<string>): Set<number> {
  const encoder = new TextEncoder();
  const byLength = new Map<number, Uint8Array[]>();
  for (const s of wanted) {
    const b = encoder.encode(s);
    byLength.set(b.length, [...(byLength.get(b.length) ?? []), b]);
  }
  const found = new Set<number>();
  if (byLength.size === 0) return found;
  for (let k = 0; k + 1 < offsets.length; k++) {
    const start = offsets[k];
    const candidates = byLength.get(offsets[k + 1] - start);
    if (!candidates) continue;
    for (const c of candidates) {
      let same = true;
      for (let q = 0; q < c.length && same; q++) same = bytes[start + q] === c[q];
      if (same) {
        found.add(k);
        break;
      }
    }
  }
  return found;
}

/**
 * Packed strings with those at `positions` removed (`keepEmpty` false) or made '' in place (`keepEmpty`
 * true, so every other string keeps its position). Copies the byte runs between them, makes no string.
 */
export function packedWithout(bytes: Uint8Array, offsets: Uint32Array, positions: ReadonlySet<number>, keepEmpty: boolean): { bytes: Uint8Array; offsets: Uint32Array } {
  const count = offsets.length - 1;
  const gone = [...positions].filter((k) => Number.isInteger(k) && k >= 0 && k < count).sort((a, b) => a - b);
  let dropped = 0;
  for (const k of gone) dropped += offsets[k + 1] - offsets[k];
  const out = new Uint8Array(offsets[count] - dropped);
  const outOffsets = new Uint32Array(keepEmpty ? count + 1 : count + 1 - gone.length);
  // Runs of kept strings [from, to): their bytes copied at once, their offsets shifted by what went before.
  let from = 0;
  let shift = 0;
  let j = 0;
  for (const end of [...gone, count]) {
    out.set(bytes.subarray(offsets[from], offsets[end]), offsets[from] - shift);
    for (let k = from; k < end; k++) outOffsets[++j] = offsets[k + 1] - shift;
    if (end === count) break;
    shift += offsets[end + 1] - offsets[end];
    if (keepEmpty) outOffsets[++j] = offsets[end + 1] - shift;
    from = end + 1;
  }
  return { bytes: out, offsets: outOffsets };
}
