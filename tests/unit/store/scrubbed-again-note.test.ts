import { describe, expect, it } from 'vitest';
import { parseScrubbedAgainNote } from '../../../src/store/redis-model-store.js';

/** The release before read a note as `token:from`: the erasure number after the first ':'. */
const asReleaseBeforeReads = (note: string) => ({ token: note.slice(0, note.indexOf(':')), from: Number(note.slice(note.indexOf(':') + 1)) });

describe('a note of a scrub done again as Redis keeps it', () => {
  it('When a note carries its writer\'s time, Then it reads with it, and the release before still reads its erasure number', () => {
    expect(parseScrubbedAgainNote('0123456789abcdef@1796601600000:42')).toEqual({ token: '0123456789abcdef@1796601600000', from: 42, at: 1796601600000 });
    expect(asReleaseBeforeReads('0123456789abcdef@1796601600000:42')).toEqual({ token: '0123456789abcdef@1796601600000', from: 42 });
  });

  it('When a note was written by the release before (no time), Then it reads without one', () => {
    expect(parseScrubbedAgainNote('0123456789abcdef:7')).toEqual({ token: '0123456789abcdef', from: 7 });
  });
});
