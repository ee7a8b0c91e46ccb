/**
 * A partition that loses Postgres's answer leaves our connection idle with nothing unacknowledged: only TCP
 * keepalive notices the peer is gone. At the OS default (two hours idle) a job waiting for that answer hung
 * 2 h 11 min in a helper's partition test; the pool's connections now probe after PG_KEEPALIVE_IDLE_MS.
 * Read off the kernel (ss), which is what the probes follow.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createPgDb, PG_KEEPALIVE_IDLE_MS, type Db } from '../../../src/data/db.js';
import { keepaliveSeconds, ssAvailable } from '../../helpers/keepalive.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const pgAvailable = await serviceAvailable(POSTGRES_URL);

describe.skipIf(!pgAvailable || !ssAvailable)('TCP keepalive on Postgres connections', () => {
  let db: Db | undefined;
  afterAll(() => db?.close());

  it('When the pool holds a connection, Then the kernel probes it after PG_KEEPALIVE_IDLE_MS idle, not after two hours', async () => {
    db = createPgDb(POSTGRES_URL, { max: 1 });
    const { rows } = await db.query<{ port: number | null }>('SELECT inet_client_port() AS port');
    // A unix socket has no TCP keepalive to check.
    if (rows[0].port === null) return;
    const seconds = keepaliveSeconds(rows[0].port);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(PG_KEEPALIVE_IDLE_MS / 1000);
  });
});
