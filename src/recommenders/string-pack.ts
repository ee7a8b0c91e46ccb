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

export function unpackStrings(bytes: unknown, offsets: unknown, what: string): string[] {
  if (!(bytes instanceof Uint8Array) || !(offsets instanceof Uint32Array) || offsets.length === 0) {
    throw new ArtifactFormatError(`${what}: missing string arrays`);
  }
  const decoder = new TextDecoder();
  const out: string[] = new Array(offsets.length - 1);
  for (let k = 0; k + 1 < offsets.length; k++) {
    if (offsets[k] > offsets[k + 1] || offsets[k + 1] > bytes.length) throw new ArtifactFormatError(`${what}: bad string offsets`);
    out[k] = decoder.decode(bytes.subarray(offsets[k], offsets[k + 1]));
  }
  return out;
}
