import type { Db } from './db.js';

/**
 * The durable list of erased users (migration 004). Erasure itself deletes the rows and records the id
 * in one transaction (event-repository deleteUser); this reads the list back, so model versions trained
 * or kept from before an erasure can be scrubbed of it (src/privacy/user-erasure.ts).
 */
export function createErasureRepository(db: Db) {
  async function erasuresAfter(mark: number): Promise<{ userId: string; seq: number }[]> {
    const { rows } = await db.query<{ user_id: string; seq: string }>('SELECT user_id, seq::text AS seq FROM erased_users WHERE seq > $1 ORDER BY seq', [mark]);
    return rows.map((r) => ({ userId: r.user_id, seq: Number(r.seq) }));
  }

  return {
    /** The highest erasure number so far (0 when none): a training notes it before reading its data. */
    async mark(): Promise<number> {
      const { rows } = await db.query<{ seq: string | null }>('SELECT max(seq)::text AS seq FROM erased_users');
      return Number(rows[0]?.seq ?? 0);
    },

    /** Users erased after `mark` (all of them for 0), oldest erasure first. */
    async erasedSince(mark: number): Promise<string[]> {
      return (await erasuresAfter(mark)).map((e) => e.userId);
    },

    /**
     * The erasures after `mark`, oldest first, with their numbers. Erasures are numbered and committed one
     * at a time (event-repository deleteUser locks the table), so none can later appear below a number
     * already read: a reader that keeps the highest number it saw misses nothing.
     */
    erasuresAfter,
  };
}

export type ErasureRepository = ReturnType<typeof createErasureRepository>;
