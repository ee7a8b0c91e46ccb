import type { Db } from './db.js';

/** One arm of an experiment: the strategy its users are served and the share of users it gets. */
export interface ArmDefinition {
  name: string;
  strategy: string;
  /** Share of the experiment's users, 0..1; the shares of an experiment add up to 1. */
  share: number;
}

export interface ExperimentRecord {
  id: string;
  /** In order; the first arm is the control every other arm is compared with. */
  arms: ArmDefinition[];
  active: boolean;
  createdAt: string;
  stoppedAt: string | null;
}

export type ExperimentRepository = ReturnType<typeof createExperimentRepository>;

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : d === null || d === undefined ? null : String(d));

const toRecord = (r: Record<string, unknown>): ExperimentRecord => ({
  id: r.id as string,
  arms: r.arms as ArmDefinition[],
  active: r.active as boolean,
  createdAt: iso(r.created_at)!,
  stoppedAt: iso(r.stopped_at),
});

/** Postgres error code of a unique violation (here: a second active experiment). */
const UNIQUE_VIOLATION = '23505';

/** Experiments in Postgres (migration 005): at most one active at a time; stopped ones are kept. */
export function createExperimentRepository(db: Db) {
  async function findActive(): Promise<ExperimentRecord | null> {
    const { rows } = await db.query('SELECT * FROM experiments WHERE active');
    return rows[0] ? toRecord(rows[0]) : null;
  }

  return {
    findActive,

    /**
     * Stores a new experiment. `exists` when the id is taken (active or stopped: results of one id are
     * never mixed); `another-active` (with its id) when `active` is asked for while another one runs.
     */
    insert: async function insert(e: { id: string; arms: ArmDefinition[]; active: boolean }): Promise<
      { outcome: 'created'; experiment: ExperimentRecord } | { outcome: 'exists' } | { outcome: 'another-active'; activeId: string }
    > {
      try {
        const { rows } = await db.query(
          `INSERT INTO experiments (id, arms, active) VALUES ($1, $2::jsonb, $3) ON CONFLICT (id) DO NOTHING RETURNING *`,
          [e.id, JSON.stringify(e.arms), e.active],
        );
        return rows[0] ? { outcome: 'created', experiment: toRecord(rows[0]) } : { outcome: 'exists' };
      } catch (err) {
        if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err;
        const active = await findActive();
        // The other one stopped in between: try once more.
        if (!active) return insert(e);
        return { outcome: 'another-active', activeId: active.id };
      }
    },

    async get(id: string): Promise<ExperimentRecord | null> {
      const { rows } = await db.query('SELECT * FROM experiments WHERE id = $1', [id]);
      return rows[0] ? toRecord(rows[0]) : null;
    },

    /** Every experiment, newest first. */
    async list(): Promise<ExperimentRecord[]> {
      const { rows } = await db.query('SELECT * FROM experiments ORDER BY created_at DESC, id');
      return rows.map(toRecord);
    },

    /**
     * Starts an experiment created inactive (`active: false`): it assigns users from now on, and its start
     * (`created_at`) is now, so its report's window holds all of its feedback. Starting an active one changes
     * nothing. `stopped` for one that was stopped (its results are never mixed with a second run's),
     * `another-active` while another runs.
     */
    start: async function start(id: string): Promise<
      { outcome: 'started'; experiment: ExperimentRecord } | { outcome: 'missing' | 'stopped' } | { outcome: 'another-active'; activeId: string }
    > {
      try {
        const { rows } = await db.query(
          `UPDATE experiments SET active = true, created_at = CASE WHEN active THEN created_at ELSE now() END
           WHERE id = $1 AND stopped_at IS NULL RETURNING *`,
          [id],
        );
        if (rows[0]) return { outcome: 'started', experiment: toRecord(rows[0]) };
        const { rows: found } = await db.query('SELECT 1 FROM experiments WHERE id = $1', [id]);
        return { outcome: found.length > 0 ? 'stopped' : 'missing' };
      } catch (err) {
        if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err;
        const active = await findActive();
        // The other one stopped in between: try once more.
        if (!active) return start(id);
        return { outcome: 'another-active', activeId: active.id };
      }
    },

    /** Stops an experiment (stopping a stopped one changes nothing); null when there is no such id. */
    async stop(id: string): Promise<ExperimentRecord | null> {
      const { rows } = await db.query(
        `UPDATE experiments SET active = false, stopped_at = coalesce(stopped_at, now()) WHERE id = $1 RETURNING *`,
        [id],
      );
      return rows[0] ? toRecord(rows[0]) : null;
    },
  };
}
