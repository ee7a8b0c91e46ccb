/**
 * The catalog overlay (serving/catalog-overlay.ts) keeps the last pass's pg_current_snapshot() and reads next the
 * items written by the transactions it could not see: in flight then, or at or past its xmax. Transaction ids are
 * not reused by a running server, but a server that crashed (or a replica promoted after the primary failed) starts
 * again from the last id its WAL on disk names: ids handed out after that, whose transactions left nothing durable
 * (rolled back), are handed out again. A write by such an id is below the kept snapshot's xmax and not in its xip
 * list: the overlay took it for seen and never read it, and the item stayed served as it was until the next training.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../../src/data/db.js';
import { migrate } from '../../../src/data/migrate.js';
import { AnswerCache } from '../../../src/serving/answer-cache.js';
import { createCatalogOverlay } from '../../../src/serving/catalog-overlay.js';
import type { ServingModel } from '../../../src/serving/serving-model.js';
import { privateServerSupport, startPrivatePostgres, type PrivatePostgres } from '../../helpers/private-servers.js';

const support = await privateServerSupport();

describe.skipIf(!support.postgres)('the catalog overlay across a Postgres crash', () => {
  let pg: PrivatePostgres;
  let db: Db;
  beforeAll(async () => {
    pg = await startPrivatePostgres();
    db = createPgDb(pg.url, { max: 2 });
    await migrate(db);
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    await pg?.dispose();
  });

  /** A model serving i1..i10 as available, and a pass of a new overlay over it. */
  async function served() {
    await db.query(`INSERT INTO items (id, title) SELECT 'i' || n, 'item ' || n FROM generate_series(1, 10) AS n
      ON CONFLICT (id) DO UPDATE SET available = true`);
    const ids = Array.from({ length: 10 }, (_, n) => `i${n + 1}`);
    const model = {
      meta: { version: 'v-crash', trainedAt: new Date().toISOString(), info: {} },
      items: {
        ids,
        index: new Map(ids.map((id, i) => [id, i])),
        titles: ids.map((id) => `item ${id.slice(1)}`),
        available: new Uint8Array(ids.length).fill(1),
        price: new Float64Array(ids.length).fill(Number.NaN),
        categories: ids.map(() => []),
      },
      answers: new AnswerCache(),
    } as unknown as ServingModel;
    const overlay = createCatalogOverlay({ db });
    await overlay.refresh(model);
    return { model, overlay };
  }

  /**
   * Rolls back transactions that took an id (their abort records wait in WAL buffers: no commit flushes them), runs a
   * pass (its snapshot's xmax past those ids), crashes the server with `crash`, takes i1 off sale after it, and runs
   * passes until one has finished after the restart (the first may meet a dropped connection).
   */
  async function acrossCrash(crash: () => Promise<void>) {
    const { model, overlay } = await served();
    await db.query(`ALTER SYSTEM SET wal_writer_delay = '10s'`);
    await db.query('SELECT pg_reload_conf()');
    await new Promise((r) => setTimeout(r, 500));
    for (let n = 0; n < 20; n++) {
      await db.transaction(async (tx) => {
        await tx.query('SELECT pg_current_xact_id()');
        throw new Error('rolled back');
      }).catch(() => {});
    }
    await overlay.refresh(model);
    const before = (await db.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s')).rows[0].s;
    await crash();
    let written: string | undefined;
    for (let attempt = 0; written === undefined && attempt < 50; attempt++) {
      written = await db
        .query<{ x: string }>(`UPDATE items SET available = false WHERE id = 'i1' RETURNING write_xid::text AS x`)
        .then((r) => r.rows[0].x, async () => void (await new Promise((r) => setTimeout(r, 200))));
    }
    expect(written, 'the write after the restart').toBeDefined();
    for (let k = 0; k < 3; k++) await overlay.refresh(model);
    return { available: model.items.available[0], message: `written by ${written}; the pass before the crash saw ${before}` };
  }

  it('When Postgres crashes after a pass and hands out again the ids of transactions it rolled back, Then a change written by such an id is still read', async () => {
    const { available, message } = await acrossCrash(async () => {
      await pg.stop();
      await pg.start();
    });
    expect(available, message).toBe(0);
  }, 120_000);

  it('When one backend is killed (the OOM killer) and Postgres reinitialises without restarting, Then a change written by an id handed out again is still read', async () => {
    const { available, message } = await acrossCrash(async () => {
      // A backend killed: the postmaster ends every other one and recovers from WAL, its own start time kept.
      const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      process.kill(rows[0].pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 3000));
    });
    expect(available, message).toBe(0);
  }, 120_000);
});
