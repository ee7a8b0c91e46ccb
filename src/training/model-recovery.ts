import { AppError } from '../errors.js';
import type { ModelStore } from '../store/model-store.js';

/** How often a process looks for a model store that lost every version. */
export const RECOVERY_CHECK_MS = 60_000;

/**
 * Trains again, unasked, when the model store holds no active version although a training has published
 * before: a Redis restarted without persistence (or flushed) lost every version, while the purchases are
 * in Postgres, the system of record. Until then every replica serves only what it holds in memory, and a
 * new one nothing. A new shop that never trained is left alone (its first training is the data team's
 * call, or the bootstrap's). Checked at most every `everyMs` by whichever request comes (`check` never
 * waits); every replica may find the loss, but trainings are exclusive, so one is queued and the others
 * are refused. The training uses the last successful training's recipe, window and tuning choice.
 */
export function createModelRecovery(deps: {
  store: Pick<ModelStore, 'getActive'>;
  /** The params of the newest training that succeeded, or null when none ever did. */
  lastTraining: () => Promise<Record<string, unknown> | null>;
  /** Queues a training with those params; JOB_ALREADY_RUNNING when one is queued or running. */
  submit: (params: Record<string, unknown>) => Promise<{ id: string }>;
  warn?: (obj: object, msg: string) => void;
  log?: (msg: string, err?: unknown) => void;
  everyMs?: number;
}) {
  const everyMs = deps.everyMs ?? RECOVERY_CHECK_MS;
  let lastAt = -Infinity;
  let running: Promise<void> | null = null;

  async function recover(): Promise<string | null> {
    if ((await deps.store.getActive()) !== null) return null;
    const last = await deps.lastTraining();
    if (!last) return null;
    try {
      const job = await deps.submit({ recipe: last.recipe, from: last.from, to: last.to, tune: last.tune });
      deps.warn?.({ jobId: job.id, recipe: last.recipe }, 'the model store holds no version although trainings have published before (a Redis restarted without persistence?): training again');
      return job.id;
    } catch (err) {
      // One is queued or running already (another replica found the loss first, or the data team trains).
      if (err instanceof AppError && err.code === 'JOB_ALREADY_RUNNING') return null;
      throw err;
    }
  }

  return {
    /** Looks (in the background, at most every `everyMs`); never waits, never throws. */
    check(): void {
      if (running || performance.now() - lastAt < everyMs) return;
      lastAt = performance.now();
      running = recover()
        .then(() => {}, (err: unknown) => deps.log?.('checking the model store for lost versions failed', err))
        .finally(() => (running = null));
    },
    /** One look now; the queued training's job id, or null (tests). */
    recover,
  };
}
