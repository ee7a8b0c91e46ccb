import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { buildApp, SHUTDOWN_GRACE_MS } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { INTERRUPTED } from '../../../src/jobs/job-repository.js';
import { createJobRunner } from '../../../src/jobs/job-runner.js';
import { createServices } from '../../../src/services.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { createPgliteTestDb } from '../../helpers/services.js';

/**
 * The server exits SHUTDOWN_GRACE_MS after SIGTERM whatever is still running (server.ts). A job that
 * would run past it must be recorded as interrupted by the app's own close before then: a process
 * killed first leaves it `running` until the next start, unseen by operations meanwhile.
 */
/** The app's services on embedded stores (PGlite, the in-process model store), and how to close them. */
async function embeddedServices() {
  const config = loadConfig({ SAMPLE_DATA: 'false', LOG_LEVEL: 'silent', AUTH_DISABLED: 'true', UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0' });
  const testDb = await createPgliteTestDb();
  const store = await createMemoryModelStore({});
  return {
    services: createServices({ config, db: testDb.db, store }),
    async dispose() {
      await store.close();
      await testDb.dispose();
    },
  };
}

describe('closing the app while a job runs', () => {
  it('When the job in hand ignores the stop and a keep-alive request is in flight, Then the job is failed as interrupted and counted before the forced exit', async () => {
    const { services, dispose } = await embeddedServices();
    // A training that never ends and never looks at its signal: the worst case of a step that runs on.
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    services.jobRunner = createJobRunner({
      ...services.jobRunnerOptions,
      handlers: { train: () => (started(), new Promise(() => {})) },
      mode: 'inline',
      pollMs: 20,
    });
    const app = await buildApp(services);
    // A request in flight when closing starts, on a keep-alive connection (a load balancer's): the
    // server's close waits for it.
    app.get('/test-slow', async () => (await new Promise((r) => setTimeout(r, 300)), { ok: true }));
    const agent = new Agent({ keepAlive: true });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as AddressInfo;
      const job = await services.jobs.enqueue('train', {});
      await running;
      const answered = new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/test-slow', agent }, (res) => (res.resume(), res.on('end', () => resolve(res.statusCode!)))).on('error', reject).end();
      });
      await new Promise((r) => setTimeout(r, 100));
      const closingAt = performance.now();
      const closed = app.close();
      expect(await answered).toBe(200);
      // Recorded before the process would be killed, while the request in flight still holds the close.
      let recorded = await services.jobs.get(job.id);
      while (recorded!.status === 'running' && performance.now() - closingAt < SHUTDOWN_GRACE_MS + 5_000) {
        await new Promise((r) => setTimeout(r, 50));
        recorded = await services.jobs.get(job.id);
      }
      expect(recorded).toMatchObject({ status: 'failed', error: INTERRUPTED });
      expect(performance.now() - closingAt).toBeLessThan(SHUTDOWN_GRACE_MS);
      const failures = (await services.metrics.jobFailures.get()).values.find((v) => v.labels.type === 'train')?.value;
      expect(failures).toBe(1);
      agent.destroy();
      await closed;
    } finally {
      agent.destroy();
      await app.close();
      await dispose();
    }
  }, 30_000);

  it('When a request on a keep-alive connection is in flight as closing starts, Then the server closes the connection after the answer and its close does not wait for the client', async () => {
    const { services, dispose } = await embeddedServices();
    const app = await buildApp(services);
    app.get('/test-slow', async () => (await new Promise((r) => setTimeout(r, 300)), { ok: true }));
    // A client that keeps its connection for later requests (a load balancer's pool) and never hangs up itself.
    const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as AddressInfo;
      let socketGone!: Promise<string>;
      const answered = new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/test-slow', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('socket', (socket) => (socketGone = new Promise((r) => socket.on('close', () => r('closed by the server')))));
        req.on('error', reject).end();
      });
      await new Promise((r) => setTimeout(r, 100));
      const closed = app.close().then(() => 'closed');
      expect(await answered).toBe(200);
      // Far below the client's keep-alive and the server's keepAliveTimeout (72 s), far above a close's milliseconds.
      expect(await Promise.race([closed, new Promise((r) => setTimeout(() => r('still open'), SHUTDOWN_GRACE_MS / 2))])).toBe('closed');
      // The client never hung up: the server did, after the answer.
      expect(await Promise.race([socketGone, new Promise((r) => setTimeout(() => r('still open'), 2000))])).toBe('closed by the server');
    } finally {
      agent.destroy();
      await app.close();
      await dispose();
    }
  }, 30_000);
});
