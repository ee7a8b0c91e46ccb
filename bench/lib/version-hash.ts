import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { stableJson } from '../../src/jobs/request-fingerprint.js';

const TRAINED_AT = Buffer.from('"trainedAt":"');
const ISO_LENGTH = '2026-01-01T00:00:00.000Z'.length;

/** An artifact with the clock time of every model header's `trainedAt` in it (artifact.ts; nested ones too) zeroed. */
function withoutTrainedAt(bytes: Buffer): Buffer {
  let at = bytes.indexOf(TRAINED_AT);
  if (at < 0) return bytes;
  const out = Buffer.from(bytes);
  for (; at >= 0; at = out.indexOf(TRAINED_AT, at + 1)) out.fill(0x30, at + TRAINED_AT.length, at + TRAINED_AT.length + ISO_LENGTH);
  return out;
}

/**
 * The fields of a version's metadata (ModelMeta, train-model.ts) that differ between two trainings of the same
 * data by the same build, so the hash leaves them out: the version's name and `trainedAt` (the clock at the
 * training), `info.durations` (timings), `info.jobId` (which job ran it) and `info.catalogSnapshot` (the Postgres
 * transaction ids and server start the catalogue was read at). Everything else counts: the recipe as published
 * (tuned weights and parameters), `info.tuning` (what tuning chose and why), the data and contents counts, the
 * serving info, the window, the erasure mark, restrictions and a factor import's report.
 */
export const CLOCK_OR_RUN_FIELDS = { meta: ['version', 'trainedAt'], info: ['durations', 'jobId', 'catalogSnapshot'] } as const;

/** What of a version's metadata (its stored JSON) is hashed: all of it but CLOCK_OR_RUN_FIELDS, canonically ordered. */
export function hashedMeta(json: string): string {
  const meta = JSON.parse(json) as Record<string, unknown>;
  for (const field of CLOCK_OR_RUN_FIELDS.meta) delete meta[field];
  const info = meta.info;
  if (info !== null && typeof info === 'object') for (const field of CLOCK_OR_RUN_FIELDS.info) delete (info as Record<string, unknown>)[field];
  return stableJson(meta);
}

/**
 * SHA-256 of everything a training wrote for one version under `prefix` in the Redis at `url`: the version's
 * metadata (hashedMeta: all but its clock and run fields, CLOCK_OR_RUN_FIELDS), every artifact's bytes and every
 * table's entries (each table's fields sorted, so the order in which threads wrote them does not count), each
 * key named without the version. Left out: the bookkeeping that differs between two trainings of the same data
 * (the version's key set, the artifacts' write counters, which start at random, temporary keys, the metadata's
 * clock and run fields, and the `trainedAt` clock time in a model artifact's header). Two trainings that print
 * the same `total` published the same lists, scores and recipe. `keys` holds one hash per key (`meta` for the
 * metadata), to tell which differs.
 */
export async function versionHash(url: string, prefix: string, version: string): Promise<{ total: string; keys: [string, string][] }> {
  const redis = new Redis(url);
  try {
    const base = `${prefix}{v:${version}}:`;
    const names: string[] = [];
    for await (const batch of redis.scanStream({ match: `${base}*`, count: 1000 })) names.push(...(batch as string[]));
    const kept = names
      .map((k) => k.slice(base.length))
      .filter((k) => k.startsWith('artifact:') || k.startsWith('table:'))
      .sort();
    const keys: [string, string][] = [];
    const total = createHash('sha256');
    // The metadata lives in the versions hash (redis-model-store.ts), `{ctl}:`-tagged on a cluster.
    const meta = (await redis.hget(`${prefix}versions`, version)) ?? (await redis.hget(`${prefix}{ctl}:versions`, version));
    if (meta === null) throw new Error(`version ${version} is not published under ${prefix}: no metadata to hash`);
    const metaDigest = createHash('sha256').update(hashedMeta(meta)).digest('hex');
    keys.push(['meta', metaDigest]);
    total.update(`meta ${metaDigest}\n`);
    for (const name of kept) {
      const hash = createHash('sha256');
      if (name.startsWith('artifact:')) {
        hash.update(withoutTrainedAt((await redis.getBuffer(base + name)) ?? Buffer.alloc(0)));
      } else {
        const entries: [string, Buffer][] = [];
        let cursor = '0';
        do {
          const [next, flat] = await redis.hscanBuffer(base + name, cursor, 'COUNT', 2000);
          cursor = next.toString();
          for (let i = 0; i < flat.length; i += 2) entries.push([flat[i].toString(), flat[i + 1]]);
        } while (cursor !== '0');
        entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        for (const [field, value] of entries) hash.update(`${field}\n${value.length}\n`).update(value);
      }
      const digest = hash.digest('hex');
      keys.push([name, digest]);
      total.update(`${name} ${digest}\n`);
    }
    return { total: total.digest('hex'), keys };
  } finally {
    await redis.quit();
  }
}
