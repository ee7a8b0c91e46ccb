/**
 * README "Erasure": an erasure a process drives is left to it for a short lease (ERASURE_LEASE_MS) that it renews while
 * it works (privacy/erasure-leases.ts), so a process that dies holding one leaves it for that lease, not the ten
 * minutes a lease that had to outlast the longest erasure once took; and one that works longer than the lease keeps it
 * (no two processes drive one erasure). The holder is `npm run worker` as a process of its own, whose re-driver takes
 * an erasure owed and waits for its turn (the test holds the erasures' lock, as a long erasure of another process
 * would); it is then killed (SIGKILL). Driven by a lease of 4 s set on both processes: no timing threshold. Real
 * Postgres (a database of the test's own: the erasures' lock it holds is the database's, and held in the shared test
 * database for the leases it waits out it stalled other files' erasures and start-up scrubs) and a redis-server of
 * the test's own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeArgs } from '../../helpers/built-entry.js';
import type { TestApp } from '../../helpers/app.js';
import { lockHeld } from '../../helpers/lock-waits.js';
import { waitUntil } from '../../helpers/wait-until.js';
import { ERASURE_SERIAL } from '../../../src/data/erasure-repository.js';
import { owedErasureServers } from '../../helpers/owed-erasure-app.js';
import { privateServerSupport } from '../../helpers/private-servers.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedShop } from '../serving/shop-fixture.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

/** The lease both processes take an erasure for (ERASURE_LEASE_MS). */
const LEASE_MS = 4000;

describe.skipIf(!support.redis || !(await serviceAvailable(POSTGRES_URL)))('the lease on an erasure owed, renewed while its process works', () => {
  const servers = owedErasureServers({ ownDb: true, env: { ERASURE_LEASE_MS: String(LEASE_MS) } });
  /** Another process of the service, whose own re-driver waits an hour (the test calls its pass). */
  let other: TestApp;
  let dataDir: string;
  let worker: ChildProcess | undefined;
  /** Ends the test's transaction that holds the erasures' lock (erasure-repository ERASURE_SERIAL). */
  let unblock: (() => Promise<void>) | undefined;

  const count = async (sql: string, id: string) => (await servers.db.query<{ n: number }>(sql, [id])).rows[0].n;
  const purchases = (id: string) => count('SELECT count(*)::int AS n FROM purchase_events WHERE user_id = $1', id);
  const erased = (id: string) => count('SELECT count(*)::int AS n FROM erased_users WHERE user_id = $1', id);
  /** Whether Postgres's clock has passed the erasure's last take by `ms`. */
  const past = async (id: string, ms: number) =>
    (await servers.db.query<{ past: boolean }>("SELECT now() > last_tried_at + $2 * interval '1 millisecond' AS past FROM erasure_requests WHERE user_id = $1", [id, ms])).rows[0]?.past === true;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'erasure-lease-'));
    other = await servers.app();
    await seedShop(other.services);
  }, 120_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await unblock?.().catch(() => {});
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('When the process driving an erasure works past its lease, Then no other takes it; When it dies, Then another completes it once the lease runs out', async () => {
    const id = 'g-user3';
    expect(await purchases(id)).toBeGreaterThan(0);
    // Another erasure that takes long (the lock is the database's: held here, in the test's own database).
    unblock = await lockHeld(servers.db, ERASURE_SERIAL);
    // Owed and due: what a DELETE answered 503 leaves once its back-off is over.
    await servers.db.query('INSERT INTO erasure_requests (user_id, next_at) VALUES ($1, now())', [id]);

    worker = spawn(process.execPath, nodeArgs('src/cli/worker-command.ts'), {
      env: servers.processEnv({ DATA_DIR: dataDir, ERASURE_REDRIVE_MS: '100', ERASURE_LEASE_MS: String(LEASE_MS), LOG_LEVEL: 'info' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    worker.stdout!.on('data', (b) => (output += b));
    worker.stderr!.on('data', (b) => (output += b));
    const exited = new Promise((resolve) => worker!.once('exit', resolve));

    try {
      // The worker took it (its re-driver's claim) and waits for the erasures' lock in its turn.
      await waitUntil('the worker taking the erasure', async () => (await count('SELECT count(*)::int AS n FROM erasure_requests WHERE user_id = $1 AND last_tried_at IS NOT NULL', id)) === 1, 60_000);
      // Three leases later by Postgres's clock, it is still the worker's: not due, its lease moved past the first.
      await waitUntil('three leases to pass', () => past(id, 3 * LEASE_MS), 60_000);
      expect(await other.services.erasureRepository.erasureRequestCounts()).toEqual({ pending: 1, due: 0 });
      const { rows: lease } = await servers.db.query<{ renewed: boolean }>(
        "SELECT next_at > last_tried_at + $2 * interval '1 millisecond' AS renewed FROM erasure_requests WHERE user_id = $1", [id, LEASE_MS],
      );
      expect(lease).toEqual([{ renewed: true }]);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the worker said:\n${output}`);
    }

    // The worker dies mid-erasure; the lock it waited for is let go (the long erasure it waited behind ends).
    worker.kill('SIGKILL');
    await exited;
    await unblock();
    unblock = undefined;
    // Nothing renews its lease now: it is due once the lease runs out, and the other process completes it.
    await waitUntil('the lease of the dead worker to run out', async () => (await other.services.erasureRepository.erasureRequestCounts()).due === 1, 60_000);
    expect(await other.services.erasureRedriver.pass()).toEqual({ pending: 1, redriven: 1, failed: 0 });
    expect(await erased(id)).toBe(1);
    expect(await purchases(id)).toBe(0);
  }, 180_000);
});
