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
