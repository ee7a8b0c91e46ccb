/**
 * The catalog overlay's range of transaction ids past the last pass's xmax is read as the gaps between the ids still
 * in flight in the pass's own snapshot (gapsOf), each an index range: an open sync's rows are not fetched to be dropped.
 */
import { describe, expect, it } from 'vitest';
import { gapsOf } from '../../../src/serving/catalog-overlay.js';

describe('gapsOf', () => {
  it('When no id in the range is still open, Then the range is one gap', () => {
    expect(gapsOf('100', '105', [])).toEqual([['100', '105']]);
    expect(gapsOf('100', '105', ['42', '105'])).toEqual([['100', '105']]);
  });

  it('When ids in the range are still open, Then each is left out and the gaps between them are kept', () => {
    expect(gapsOf('100', '110', ['103', '107', '103'])).toEqual([
      ['100', '103'],
      ['104', '107'],
      ['108', '110'],
    ]);
    // At the start, side by side, and the last id of the range: no empty gap.
    expect(gapsOf('100', '104', ['100', '101', '103'])).toEqual([['102', '103']]);
  });

  it('When the range is empty (nothing ended since the last pass), Then there is no gap', () => {
    expect(gapsOf('100', '100', [])).toEqual([]);
    expect(gapsOf('100', '101', ['100'])).toEqual([]);
  });

  it('When the ids pass 2^53 (a later xid epoch), Then they are kept exact', () => {
    expect(gapsOf('9007199254740993', '9007199254740997', ['9007199254740994'])).toEqual([
      ['9007199254740993', '9007199254740994'],
      ['9007199254740995', '9007199254740997'],
    ]);
  });
});
