import { describe, expect, it } from 'vitest';
import { ArtifactFormatError } from '../../../src/recommenders/artifact.js';
import { checkNeighbourLists } from '../../../src/recommenders/neighbour-lists.js';

const lists = (items: number[]) => ({ indptr: Int32Array.from([0, 1, 2, items.length]), items: Int32Array.from(items), scores: new Float32Array(items.length).fill(1) });

describe("a stored model's neighbour lists, checked against the catalogue", () => {
  it('When every neighbour is a product of the catalogue, Then the lists are accepted', () => {
    expect(() => checkNeighbourLists(lists([1, 2, 0, 1]), 3, 'x')).not.toThrow();
  });

  it('When a neighbour is beyond the catalogue or negative, or the lists are of another size, Then they are refused as unreadable', () => {
    for (const bad of [[1, 2, 0, 3], [1, -1, 0, 1]]) expect(() => checkNeighbourLists(lists(bad), 3, 'x')).toThrow(ArtifactFormatError);
    expect(() => checkNeighbourLists(lists([1, 2, 0, 1]), 4, 'x')).toThrow(ArtifactFormatError);
  });
});
