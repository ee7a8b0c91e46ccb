import { describe, expect, it } from 'vitest';
import { ArtifactFormatError } from '../../../src/recommenders/artifact.js';
import { findSegment } from '../../../src/serving/serving-tables.js';
import {
  decodeItemsArtifact,
  decodeNeighboursArtifact,
  decodePopularArtifact,
  encodeItemsArtifact,
  encodeNeighboursArtifact,
  encodePopularArtifact,
  itemGroupsOf,
  type NeighbourTable,
  type PopularTable,
} from '../../../src/serving/serving-artifacts.js';

/** Item i's neighbours are the next two items, scored 1 and 0.5 (wrapping round). */
function lists(n: number, at = (i: number, k: number) => (i + k + 1) % n): NeighbourTable {
  const indptr = Int32Array.from({ length: n + 1 }, (_, i) => 2 * i);
  const items = Int32Array.from({ length: 2 * n }, (_, p) => at(Math.floor(p / 2), p % 2));
  const scores = Float32Array.from({ length: 2 * n }, (_, p) => (p % 2 === 0 ? 1 : 0.5));
  return { indptr, items, scores };
}

describe('the neighbours table of a version', () => {
  it('When a version is read, Then each source has the lists it was written with, with co-occurrence statistics', () => {
    const cooc = { ...lists(4), support: Float32Array.from([3, 1, 2, 2, 1, 1, 5, 4]), confidence: new Float32Array(8).fill(0.5), lift: new Float32Array(8).fill(2) };
    const tables = new Map([['item-knn', lists(4)], ['cooccurrence', cooc]]);
    const back = decodeNeighboursArtifact(encodeNeighboursArtifact(tables), 4);
    expect([...back.keys()]).toEqual(['item-knn', 'cooccurrence']);
    expect(back.get('item-knn')).toEqual(lists(4));
    expect(back.get('cooccurrence')).toEqual(cooc);
  });

  it('When a list names a product beyond the catalogue, or below it, Then the version is refused as unreadable', () => {
    for (const bad of [4, -1]) {
      const bytes = encodeNeighboursArtifact(new Map([['item-knn', lists(4, (i, k) => (i === 3 && k === 1 ? bad : (i + k + 1) % 4))]]));
      expect(() => decodeNeighboursArtifact(bytes, 4)).toThrow(ArtifactFormatError);
    }
    // Written for a larger catalogue than the one read with.
    expect(() => decodeNeighboursArtifact(encodeNeighboursArtifact(new Map([['item-knn', lists(5)]])), 4)).toThrow(ArtifactFormatError);
  });
});

describe('the popularity table of a version', () => {
  const table = (globalPart?: number): PopularTable => ({
    score: Float32Array.of(1, 0.5, 0.25),
    order: Int32Array.of(0, 1, 2),
    segments: [{ name: 'country', value: 'FR', buyers: 12, ...(globalPart === undefined ? {} : { globalPart }), items: Int32Array.of(2, 0), scores: Float32Array.of(1, 0.8) }],
  });

  it("When a version is read, Then each segment keeps its global part (what tells an item its buyers bought from one they did not)", () => {
    expect(decodePopularArtifact(encodePopularArtifact(table(0.8)), 3)).toEqual(table(0.8));
  });

  it('When a version written before segments kept it is read, Then its segments have none (explained by ranks alone)', () => {
    expect(decodePopularArtifact(encodePopularArtifact(table()), 3).segments[0]).not.toHaveProperty('globalPart');
  });

  const segmented = (attributes?: string[]): PopularTable => ({
    score: Float32Array.of(1, 0.5, 0.25),
    order: Int32Array.of(0, 1, 2),
    // As training writes them: sorted by attribute name, then value.
    segments: [
      { name: 'country', value: 'UK', buyers: 13, items: Int32Array.of(1), scores: Float32Array.of(1) },
      { name: 'region', value: 'north', buyers: 5, items: Int32Array.of(0), scores: Float32Array.of(1) },
    ],
    ...(attributes ? { attributes } : {}),
  });
  const northerner = { region: 'north', country: 'UK' };

  it("When a version is read, Then a customer's segment is their first attribute in the recipe's order with a segment", () => {
    const back = decodePopularArtifact(encodePopularArtifact(segmented(['region', 'country'])), 3);
    expect(back.attributes).toEqual(['region', 'country']);
    expect(findSegment(back, northerner)).toBe(1);
    expect(findSegment(back, { region: 'south', country: 'UK' })).toBe(0);
    expect(findSegment(back, { region: 'south' })).toBe(-1);
  });

  it('When a version written before the order was kept is read, Then segments are tried by attribute name, as it was served', () => {
    const back = decodePopularArtifact(encodePopularArtifact(segmented()), 3);
    expect(back).not.toHaveProperty('attributes');
    expect(findSegment(back, northerner)).toBe(0);
    expect(findSegment(back, { region: 'north' })).toBe(1);
  });

  it("When a version is read, Then it keeps its popularity source's minSegmentBuyers (Postgres-counted lists hold back smaller values by it); an older one has none", () => {
    expect(decodePopularArtifact(encodePopularArtifact({ ...segmented(['country']), minSegmentBuyers: 5 }), 3).minSegmentBuyers).toBe(5);
    expect(decodePopularArtifact(encodePopularArtifact(segmented(['country'])), 3)).not.toHaveProperty('minSegmentBuyers');
  });
});

describe('the items artifact and product groups', () => {
  const info = { strategies: ['hybrid'], hybridSources: [], candidates: 10, now: 0 };
  const table = (groups?: ReturnType<typeof itemGroupsOf>) => ({
    ids: ['s', 'm', 'belt', 'l'],
    titles: ['shirt S', 'shirt M', 'belt', 'shirt L'],
    available: Uint8Array.of(1, 1, 1, 1),
    price: Float64Array.of(1, 1, 2, 1),
    categories: [[], [], [], []],
    ...(groups ? { groups } : {}),
  });

  it('When a version of a catalogue with groups is read, Then each item has its group and an item without one has none', () => {
    const { items } = decodeItemsArtifact(encodeItemsArtifact(info, table(itemGroupsOf(['shirt', 'shirt', null, 'shirt']))));
    const g = items.groups!;
    expect([...g.of].map((k) => (k < 0 ? null : g.ids[k]))).toEqual(['shirt', 'shirt', null, 'shirt']);
    expect(g.index.get('shirt')).toBe(g.of[0]);
  });

  it('When no item has a group (or a version was written before groups), Then the table has none', () => {
    expect(itemGroupsOf([null, undefined, ''])).toBeUndefined();
    expect(decodeItemsArtifact(encodeItemsArtifact(info, table())).items.groups).toBeUndefined();
  });

  it('When a source learnt per group, Then the variants that show the groups are read back, with the training groups as a copy the overlay cannot patch', () => {
    const groups = itemGroupsOf(['shirt', 'shirt', null, 'shirt'])!;
    const { items } = decodeItemsArtifact(encodeItemsArtifact(info, table({ ...groups, shows: Uint8Array.of(0, 1, 0, 0) })));
    const g = items.groups!;
    expect([...g.shows!]).toEqual([0, 1, 0, 0]);
    g.of[1] = -1;
    expect(g.trained![1]).toBe(groups.of[1]);
    // Without shows (every source per product), none are read back.
    expect(decodeItemsArtifact(encodeItemsArtifact(info, table(groups))).items.groups).not.toHaveProperty('shows');
  });
});
