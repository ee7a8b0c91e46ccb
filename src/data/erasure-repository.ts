import type { Db } from './db.js';

/**
 * The durable list of erased users (migration 004). Erasure itself deletes the rows and records the id
 * in one transaction (event-repository deleteUser); this reads the list back, so model versions trained
 * or kept from before an erasure can be scrubbed of it (src/privacy/user-erasure.ts).
 */
export function createErasureRepository(db: Db) {
  return {
    /** The highest erasure number so far (0 when none): a training notes it before reading its data. */
    async mark(): Promise<number> {
      const { rows } = await db.query<{ seq: string | null }>('SELECT max(seq)::text AS seq FROM erased_users');
      return Number(rows[0]?.seq ?? 0);
    },

    /** Users erased after `mark` (all of them for 0), oldest erasure first. */
    async erasedSince(mark: number): Promise<string[]> {
      const { rows } = await db.query<{ user_id: string }>('SELECT user_id FROM erased_users WHERE seq > $1 ORDER BY seq', [mark]);
      return rows.map((r) => r.user_id);
    },
  };
}

export type ErasureRepository = ReturnType<typeof createErasureRepository>;
