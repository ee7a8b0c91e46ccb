import { describe, expect, it } from 'vitest';
import { ArtifactFormatError, decodeArtifact, encodeArtifact } from '../../../src/recommenders/artifact.js';
import { decodeProfiles, decodeProfilesInChunks, encodedProfilesWithout, encodeProfiles, profileColumns, profilePatchesWithout } from '../../../src/profiles/profile-codec.js';
import { computeProfiles } from '../../../src/profiles/profile.js';
import { segmentProfiles } from '../../../src/profiles/segments.js';
import { dataset, events, item, items, line, NOW } from './profile-fixtures.js';

describe('profile artifact', () => {
  const withUnicode = [
    ...events,
    line('Zoë-ü 😀', 'o9', '2024-03-30T10:00:00Z', 'D', 3, null), // no price anywhere: null sensitivity
  ];
  const catalog = [...items, item('D', 'CAFÉ CRÈME SET', ['küche'])];
  const profiles = segmentProfiles(computeProfiles(dataset(withUnicode, catalog, NOW)));

  it('round-trips every field of every profile, nulls and non-ASCII ids and terms included', () => {
    const bytes = encodeProfiles(profiles, { now: Date.parse(NOW), trainedAt: '2024-04-01T00:00:00.000Z', params: { newDays: 30 } });
    const back = decodeProfiles(bytes);
    expect(back.now).toBe(Date.parse(NOW));
    expect(back.trainedAt).toBe('2024-04-01T00:00:00.000Z');
    expect(back.params).toEqual({ newDays: 30 });
    expect(back.profiles).toEqual(profiles);
    const zoe = back.profiles.find((p) => p.userId === 'Zoë-ü 😀')!;
    expect(zoe.priceSensitivity).toBeNull();
    expect(zoe.topTerms.map((t) => t.label)).toEqual(['café', 'crème', 'set']);
    expect(zoe.topCategories).toEqual([{ label: 'küche', weight: 1 }]);
  });

  it('decoded a chunk at a time, the profiles are every field of every profile, and the event loop turns between the chunks', async () => {
    const info = { now: Date.parse(NOW), trainedAt: '2024-04-01T00:00:00.000Z', params: { newDays: 30 } };
    const bytes = encodeProfiles(profiles, info);
    expect(profiles.length).toBeGreaterThan(2);
    let turns = 0;
    let turnedBeforeEnd = false;
    setImmediate(() => (turnedBeforeEnd = true));
    const back = await decodeProfilesInChunks(bytes, () => new Promise((resolve) => setImmediate(() => resolve(void turns++))), 2);
    expect(turnedBeforeEnd).toBe(true);
    expect(turns).toBe(Math.ceil(profiles.length / 2) - 1);
    expect(back).toEqual({ ...info, profiles });
  });

  it('without some customers (an erasure): exactly the profiles of the others, as encoding them alone gives', () => {
    const info = { now: Date.parse(NOW), trainedAt: '2024-04-01T00:00:00.000Z', params: { newDays: 30 } };
    const bytes = encodeProfiles(profiles, info);
    const ids = profiles.map((p) => p.userId);
    // The first, the third, a non-ASCII one and the last; and an id nobody has.
    const gone = new Set([ids[0], ids[2], 'Zoë-ü 😀', ids.at(-1)!, 'nobody']);
    expect(ids).toContain('Zoë-ü 😀');
    const back = decodeProfiles(encodedProfilesWithout(bytes, gone)!);
    expect(back.profiles).toEqual(profiles.filter((p) => !gone.has(p.userId)));
    expect({ now: back.now, trainedAt: back.trainedAt, params: back.params }).toEqual(info);
    expect(encodedProfilesWithout(bytes, new Set(['nobody']))).toBeNull();
    expect(decodeProfiles(encodedProfilesWithout(bytes, new Set(ids))!).profiles).toEqual([]);
  });

  it('blanks erased customers in place: the patches leave no byte of their rows, and readers leave the rows out', async () => {
    const info = { now: Date.parse(NOW), trainedAt: '2024-04-01T00:00:00.000Z', params: { newDays: 30 } };
    const bytes = encodeProfiles(profiles, info);
    const ids = profiles.map((p) => p.userId);
    const gone = new Set([ids[0], 'Zoë-ü 😀', ids.at(-1)!, 'nobody']);
    const read = async (start: number, end: number) => bytes.slice(start, end);
    const patches = (await profilePatchesWithout(read, gone))!;
    const patched = bytes.slice();
    for (const { offset, bytes: b } of patches) patched.set(b, offset);
    expect(patched.byteLength).toBe(bytes.byteLength);
    const back = decodeProfiles(patched);
    expect(back.profiles).toEqual(profiles.filter((p) => !gone.has(p.userId)));
    expect({ now: back.now, trainedAt: back.trainedAt, params: back.params }).toEqual(info);
    // What blank does to a process's columns, the patches did to the stored bytes.
    const columns = profileColumns(bytes);
    for (const id of gone) if (ids.includes(id)) columns.blank(ids.indexOf(id));
    const { arrays } = decodeArtifact(patched);
    const blanked = [...gone].filter((id) => ids.includes(id)).map((id) => ids.indexOf(id));
    expect((arrays.monetary as Float64Array).filter((_, k) => blanked.includes(k)).every((v) => v === 0)).toBe(true);
    expect(Array.from(arrays.monetary as Float64Array)).toEqual(Array.from(columns.monetary));
    expect(Buffer.from(patched).includes(Buffer.from('Zoë-ü 😀'))).toBe(false);
    expect(profileColumns(patched).userIds).toEqual(ids.map((id) => (gone.has(id) ? '' : id)));
    // Again: nothing of them is left to find.
    expect(await profilePatchesWithout(async (start, end) => patched.slice(start, end), gone)).toEqual([]);
    expect(await profilePatchesWithout(async () => null, gone)).toBeNull();
    expect(await profilePatchesWithout(async (start, end) => encodeArtifact({ algorithm: 'als', version: 1 }, {}).slice(start, end), gone)).toBeNull();
  });

  it('a patch cut short anywhere (a store that split it into calls and went away between two) is completed by the erasure asked again: none of the customer\'s bytes stay', async () => {
    const bytes = encodeProfiles(profiles);
    const ids = profiles.map((p) => p.userId);
    const gone = new Set(['Zoë-ü 😀', ids[0]]);
    const { arrays } = decodeArtifact(bytes);
    const rows = [...gone].map((id) => ids.indexOf(id));
    const full = (await profilePatchesWithout(async (start, end) => bytes.slice(start, end), gone))!;
    expect(full.length).toBeGreaterThan(0);
    for (let cut = 0; cut <= full.length; cut++) {
      const partial = bytes.slice();
      for (const { offset, bytes: b } of full.slice(0, cut)) partial.set(b, offset);
      // The erasure failed after `cut` patches and is asked for again.
      const again = (await profilePatchesWithout(async (start, end) => partial.slice(start, end), gone))!;
      for (const { offset, bytes: b } of again) partial.set(b, offset);
      const after = decodeArtifact(partial).arrays;
      for (const k of rows) {
        for (const list of ['term', 'cat']) {
          const ptr = arrays[`${list}Ptr`] as Uint32Array;
          expect(ptr[k + 1], `${list}s of row ${k}`).toBeGreaterThan(ptr[k]);
          const left = Array.from((after[`${list}Weights`] as Float64Array).subarray(ptr[k], ptr[k + 1]));
          expect(left, `${list} weights of row ${k} after a cut at ${cut}`).toEqual(left.map(() => 0));
          const entries = Array.from((after[`${list}Ids`] as Uint32Array).subarray(ptr[k], ptr[k + 1]));
          expect(entries, `${list} ids of row ${k} after a cut at ${cut}`).toEqual(entries.map(() => 0));
        }
        expect((after.monetary as Float64Array)[k], `monetary of row ${k} after a cut at ${cut}`).toBe(0);
      }
      expect(Buffer.from(partial).includes(Buffer.from('Zoë-ü 😀')), `id after a cut at ${cut}`).toBe(false);
    }
  });

  it('round-trips an empty population', () => {
    expect(decodeProfiles(encodeProfiles([]))).toEqual({ now: null, profiles: [] });
  });

  it("refuses another algorithm's artifact", () => {
    expect(() => decodeProfiles(encodeArtifact({ algorithm: 'als', version: 1 }, {}))).toThrow(ArtifactFormatError);
  });

  it('refuses a label index outside the label lists instead of inventing a segment', () => {
    const { header, arrays } = decodeArtifact(encodeProfiles(profiles));
    (arrays.labels as Uint8Array)[0] = 200;
    expect(() => decodeProfiles(encodeArtifact(header, arrays))).toThrow(/label index 200/);
  });

  it('refuses columns whose length does not match the profile count', () => {
    const { header, arrays } = decodeArtifact(encodeProfiles(profiles));
    arrays.monetary = new Float64Array(1);
    expect(() => decodeProfiles(encodeArtifact(header, arrays))).toThrow(/monetary/);
  });
});
