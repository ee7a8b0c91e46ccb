import { describe, expect, it } from 'vitest';
import { createUserErasure, type UserErasureDeps } from '../../../src/privacy/user-erasure.js';
import { SCRUBBED_AGAIN_KEPT, type ErasureRecords } from '../../../src/store/model-store.js';

/**
 * The notes of scrubs done again (ModelStore.noteScrubbedAgain) as a process reads them with the erasure records
 * (user-erasure.ts scrubbedAgain): fakes stand in for Postgres and the store, whose records are up to date, so
 * what the process forgets is only what the notes make it forget.
 */
function fakes() {
  const notes: { token: string; from: number; at?: number }[] = [];
  const forgotten: string[] = [];
  const asked: number[] = [];
  /** erasure number -> customer; erasedSince(n) answers those numbered above n. */
  const erased = new Map<number, string>();
  let postgresDown = false;
  const deps = {
    events: {},
    erasures: {
      erasedSince: async (from: number) => {
        if (postgresDown) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });
        asked.push(from);
        return [...erased].filter(([n]) => n > from).map(([, id]) => id);
      },
    },
    store: {
      erasureRecords: async (): Promise<ErasureRecords> => ({ versions: new Map([['v1', 100]]), liveEvents: 100, scrubbedAgain: [...notes] }),
      listVersions: async () => [],
    },
    forget: async (id: string) => void forgotten.push(id),
  } as unknown as UserErasureDeps;
  /** A note written now by another process (`at`: its time; none, as the release before wrote them). */
  const note = (token: string, from: number, at?: number) => {
    notes.unshift(at === undefined ? { token, from } : { token, from, at });
    notes.splice(SCRUBBED_AGAIN_KEPT);
  };
  return { erasure: createUserErasure(deps), note, forgotten, asked, erased, setPostgresDown: (down: boolean) => void (postgresDown = down) };
}

describe('the notes of scrubs done again', () => {
  it('When Postgres fails the read of the erased customers a new note calls for, Then the next read forgets them (the note is not taken as read)', async () => {
    const { erasure, note, forgotten, erased, setPostgresDown } = fakes();
    erased.set(5, 'u5');
    // The process's first read: what is noted already it read the store after.
    await erasure.catchUp(100);
    note('a', 3);
    setPostgresDown(true);
    await expect(erasure.catchUp(100)).rejects.toThrow(/terminated/);
    setPostgresDown(false);
    // Before, the note counted as read once seen, whether its customers were forgotten or not: never again.
    await erasure.catchUp(100);
    expect(forgotten).toEqual(['u5']);
    // Then it is read: nothing more.
    await erasure.catchUp(100);
    expect(forgotten).toEqual(['u5']);
  });

  it('When more notes came since the last read than are kept, Then the customers of those no longer kept are forgotten too', async () => {
    const { erasure, note, forgotten, erased } = fakes();
    erased.set(2, 'u2');
    erased.set(50, 'u50');
    await erasure.catchUp(100);
    note('seen', 90);
    await erasure.catchUp(100);
    expect(forgotten).toEqual([]);
    // A note from 1 (u2 scrubbed again), then more than the kept number from 40 (u50): the one from 1 falls out.
    note('low', 1);
    for (let k = 0; k < SCRUBBED_AGAIN_KEPT; k++) note(`n${k}`, 40);
    await erasure.catchUp(100);
    expect(forgotten.sort()).toEqual(['u2', 'u50']);
  });

  it('When a process first reads the notes after one was written since it started (Postgres down at its start), Then it forgets that note\'s customers', async () => {
    const { erasure, note, forgotten, erased } = fakes();
    erased.set(5, 'u5');
    // The process started and served the restored store; its first read of the erasures failed (Postgres down),
    // and meanwhile another process scrubbed the store again and noted it.
    note('a', 3, Date.now());
    // Before, the first read took the newest note as read and forgot nobody: u5 stayed in what it had loaded.
    await erasure.catchUp(100);
    expect(forgotten).toEqual(['u5']);
    await erasure.catchUp(100);
    expect(forgotten).toEqual(['u5']);
  });

  it('When a process first reads notes written before it started, or without a time (the release before), Then it forgets nobody; such a note written after its first read is new', async () => {
    const { erasure, note, forgotten, erased, asked } = fakes();
    erased.set(5, 'u5');
    note('old', 3, Date.now() - 3_600_000);
    note('untimed', 3);
    await erasure.catchUp(100);
    expect(forgotten).toEqual([]);
    expect(asked).toEqual([]);
    // A note of the release before, written after the first read: new by its token, as before.
    note('untimed-later', 4);
    await erasure.catchUp(100);
    expect(forgotten).toEqual(['u5']);
  });

  it('When more notes were written since the process started than are kept, at its first read, Then the customers of those no longer kept are forgotten too', async () => {
    const { erasure, note, forgotten, erased } = fakes();
    erased.set(2, 'u2');
    erased.set(50, 'u50');
    note('low', 1, Date.now());
    for (let k = 0; k < SCRUBBED_AGAIN_KEPT; k++) note(`n${k}`, 40, Date.now());
    await erasure.catchUp(100);
    expect(forgotten.sort()).toEqual(['u2', 'u50']);
  });

  it('When the notes are as last read, Then nothing is read of Postgres', async () => {
    const { erasure, note, asked } = fakes();
    note('a', 3);
    await erasure.catchUp(100);
    await erasure.catchUp(100);
    expect(asked).toEqual([]);
  });
});

describe('the note of a scrub done again, and the records', () => {
  /** A store whose live events are behind (scrubbed through 5, the mark at 10), erased customer u6 after 5. */
  function behind(noteFails: boolean) {
    const calls: string[] = [];
    const deps = {
      events: {},
      erasures: {
        locked: async <T>(fn: (erasedSince: (mark: number) => Promise<string[]>, markNow: () => Promise<number>) => Promise<T>) =>
          fn(async (from) => (from < 6 ? ['u6'] : []), async () => 10),
        erasedSince: async () => [],
      },
      store: {
        erasureRecords: async (): Promise<ErasureRecords> => ({ versions: new Map(), liveEvents: 5, scrubbedAgain: [] }),
        listVersions: async () => [],
        deleteUserEvents: async () => void calls.push('delete'),
        noteScrubbedAgain: async (from: number) => {
          calls.push(`note ${from}`);
          if (noteFails) throw new Error('OOM command not allowed');
        },
        raiseErasureRecords: async (through: number) => void calls.push(`raise ${through}`),
      },
      forget: async () => {},
    } as unknown as UserErasureDeps;
    return { erasure: createUserErasure(deps), calls };
  }

  it('When a store behind is scrubbed again, Then the note is written after the scrub and before the records are raised', async () => {
    const { erasure, calls } = behind(false);
    expect(await erasure.catchUp(10)).toEqual(['u6']);
    expect(calls).toEqual(['delete', 'note 5', 'raise 10']);
  });

  it('When the note cannot be written, Then the records stay behind, so the scrub and its note are done again', async () => {
    const { erasure, calls } = behind(true);
    await expect(erasure.catchUp(10)).rejects.toThrow(/OOM/);
    expect(calls).toEqual(['delete', 'note 5']);
  });
});
