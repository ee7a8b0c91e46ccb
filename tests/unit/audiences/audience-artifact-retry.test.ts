import { describe, expect, it } from 'vitest';
import { audienceArtifactWithout, audienceCollector, audiencePatchesWithout, decodeAudienceArtifact } from '../../../src/audiences/audience-artifact.js';
import { NO_SOURCE } from '../../../src/audiences/audience-index.js';
import type { ArtifactPatch } from '../../../src/recommenders/artifact.js';
import { buildServingModel } from '../../../src/serving/serving-model-builder.js';
import { decodeUserEntry, USERS_TABLE } from '../../../src/serving/user-entry.js';
import { twoGroups } from '../recommenders/two-groups.fixture.js';
import { fitSources } from '../serving/fit-sources.js';

/**
 * An erasure's patches of the audience postings go to Redis in calls of 500 (redis-model-store.ts
 * PATCHES_PER_CALL), each one step: a patch list cut short between calls leaves the first calls applied, and
 * the erasure fails, to be asked for again. The retry computes the patches again from the artifact as it now
 * is; it must wipe what the first attempt left of the customer, as a whole rewrite would.
 */
const { ds } = twoGroups();
const fitted = fitSources(ds);
const build = buildServingModel({ ds, fitted, precomputeDays: null });
const rows = [...build.tables.get(USERS_TABLE)!];
const collector = audienceCollector(ds.userIds, fitted.sources.size);
collector.add(rows);
const original = collector.artifact(ds.itemIds.length);

const readerOf = (bytes: Uint8Array) => async (start: number, end: number) => bytes.slice(start, Math.min(end, bytes.byteLength));
const applied = (bytes: Uint8Array, patches: readonly ArtifactPatch[]) => {
  const out = bytes.slice();
  for (const p of patches) out.set(p.bytes, p.offset);
  return out;
};

describe('an erasure of the audience postings cut short and asked for again', () => {
  it('When only the first call of an erasure\'s patches was applied, Then the retry leaves no score, anchor or source of the customer, as the whole rewrite', async () => {
    // A customer with candidates (their postings carry the blend's scores of them).
    const [erasedId, bytes] = rows.find(([, b]) => decodeUserEntry(b).hybrid.items.length > 1)!;
    const entry = decodeUserEntry(bytes);
    const row = ds.userIds.indexOf(erasedId);
    const lists = [{ candidates: entry.hybrid.items, purchased: entry.purchased }];

    const first = (await audiencePatchesWithout(readerOf(original), [row], lists))!;
    expect(first.length).toBeGreaterThan(1);
    // The store applied the first patch only (a call boundary), then the erasure failed.
    const cut = applied(original, first.slice(0, 1));
    const retry = (await audiencePatchesWithout(readerOf(cut), [row], lists))!;
    const after = applied(cut, retry);

    const { candidates } = decodeAudienceArtifact(after).postings;
    const left: number[] = [];
    candidates.users.forEach((u, p) => {
      if (u === -1 && (candidates.scores[p] !== 0 || (candidates.anchor && candidates.anchor[p] !== -1) || (candidates.source && candidates.source[p] !== NO_SOURCE))) left.push(p);
    });
    expect(left).toEqual([]);
    expect(Buffer.from(after).equals(Buffer.from(audienceArtifactWithout(original, [row])!))).toBe(true);
  });
});

/**
 * Each read of an erasure is a round trip to Redis (readArtifactRange: a MULTI on the artifacts' connection),
 * under the erasure lock. One read per listed item, each waiting for the last, was 422 round trips a customer
 * and 7,159 for a turn of 100 customers per kept version on postings of the 100,000-customer shape (measured
 * with a counting reader): the reads of the items' pointers, then of their postings, go out together.
 */
describe('an erasure\'s reads of the audience postings', () => {
  it('When a customer with many listed items is erased, Then the postings are read in a few rounds, not one round trip per item', async () => {
    const [erasedId, bytes] = rows.reduce((a, b) => (decodeUserEntry(b[1]).hybrid.items.length > decodeUserEntry(a[1]).hybrid.items.length ? b : a));
    const entry = decodeUserEntry(bytes);
    expect(entry.hybrid.items.length).toBeGreaterThanOrEqual(10);
    let inFlight = 0;
    let rounds = 0;
    const read = async (start: number, end: number) => {
      if (inFlight === 0) rounds++;
      inFlight++;
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      return original.slice(start, Math.min(end, original.byteLength));
    };
    const row = ds.userIds.indexOf(erasedId);
    const patches = await audiencePatchesWithout(read, [row], [{ candidates: entry.hybrid.items, purchased: entry.purchased }]);
    expect(applied(original, patches!)).toEqual(audienceArtifactWithout(original, [row]));
    // The layout (2), the positions, the candidates' pointers and postings, the buyers' likewise, the latest purchases.
    expect(rounds).toBeLessThanOrEqual(8);
  });
});
