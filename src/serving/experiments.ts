/**
 * A/B experiments on GET /v1/users/:id/recommendations: which arm a user is in (a pure function of the
 * experiment id and the user id, so every replica and every request agree without storing anything),
 * and the active experiment kept in process memory, so the hot path makes no Postgres query.
 */
import { createHash } from 'node:crypto';
import type { ArmDefinition, ExperimentRecord, ExperimentRepository } from '../data/experiment-repository.js';
import { within } from '../within-time.js';

/**
 * How long a request waits for the process's first read of the active experiment: a read that takes
 * longer (a Postgres that stops answering) answers this request with none, and the read goes on.
 */
const FIRST_READ_WAIT_MS = 1000;

/**
 * The user's position in [0, 1): the first 4 bytes of sha1(`${experimentId}:${userId}`) as a big-endian
 * unsigned integer / 2^32. The experiment id is part of the hash, so a user's arm in one experiment
 * says nothing about their arm in the next.
 */
export function bucketOf(experimentId: string, userId: string): number {
  return createHash('sha1').update(`${experimentId}:${userId}`).digest().readUInt32BE(0) / 2 ** 32;
}

/** The arm whose slice of the cumulative shares holds the user's bucket (the last arm takes rounding). */
export function assignArm<A extends Pick<ArmDefinition, 'share'>>(experimentId: string, userId: string, arms: readonly A[]): A {
  const u = bucketOf(experimentId, userId);
  let upTo = 0;
  for (const arm of arms) {
    upTo += arm.share;
    if (u < upTo) return arm;
  }
  return arms[arms.length - 1];
}

/** Which experiment and arm gave an answer; the storefront sends both back with its feedback. */
export interface ExperimentTag {
  id: string;
  arm: string;
}

export interface ExperimentCache {
  /** The active experiment as last read (refreshed in the background when older than `refreshMs`); undefined before the first read. */
  current(): ExperimentRecord | null | undefined;
  /**
   * The active experiment, waiting for the first read only (after that, the same as current()), and for
   * at most FIRST_READ_WAIT_MS once per process: none until it is done.
   */
  ready(): Promise<ExperimentRecord | null>;
  /** Reads the active experiment now (after this process created or stopped one): a read that starts after any under way. */
  refresh(): Promise<ExperimentRecord | null>;
}

/**
 * Keeps the active experiment in memory. A read older than `refreshMs` (default 5 s) starts a new one
 * in the background and answers with the one in hand meanwhile, so another replica's change is seen
 * within about `refreshMs`; a failed read (Postgres down) keeps the last known experiment (none if
 * there was none yet).
 */
export function createExperimentCache(deps: {
  experiments: Pick<ExperimentRepository, 'findActive'>;
  refreshMs?: number;
  log?: (msg: string, err?: unknown) => void;
}): ExperimentCache {
  const refreshMs = deps.refreshMs ?? 5000;
  let active: ExperimentRecord | null | undefined;
  let readAt = -Infinity;
  let pending: Promise<ExperimentRecord | null> | null = null;

  const read = () =>
    deps.experiments
      .findActive()
      .then((e) => (active = e))
      .catch((err: unknown) => {
        deps.log?.('could not read the active experiment', err);
        // Not known yet: none, until the next read (requests must not wait on a database that is down).
        return (active ??= null);
      });

  /** A read that starts once `after` (one under way) is done, or now. */
  function start(after: Promise<unknown> | null): Promise<ExperimentRecord | null> {
    const next: Promise<ExperimentRecord | null> = (after ? after.then(read) : read()).finally(() => {
      readAt = performance.now();
      if (pending === next) pending = null;
    });
    pending = next;
    return next;
  }

  /** The read under way, or a new one: background re-reads and the first read share it. */
  const shared = () => pending ?? start(null);

  function current() {
    if (performance.now() - readAt >= refreshMs) void shared();
    return active;
  }

  return {
    current,
    // A first read still running after the wait: none until it is done, for every request meanwhile.
    ready: () => (active === undefined ? within(shared(), FIRST_READ_WAIT_MS, () => (active ??= null)) : Promise.resolve(current() ?? null)),
    // After a change on this process: a read begun before the change may answer what was, so a new read
    // starts after it.
    refresh: () => start(pending),
  };
}
