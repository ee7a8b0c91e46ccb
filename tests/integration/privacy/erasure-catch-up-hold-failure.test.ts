import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/errors.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

/**
 * A server whose model store did not answer at start holds the store's versions back until the scrub of the
 * erasures it lost has run (app.ts, serving.holdCustomerData). The store here fails as a Redis does: first not
 * answering (a dependency failure), then answering with an error that is not one (a Redis restored and then
 * refusing the scrub's writes, MISCONF or OOM, say). The scrub has not run: the hold and `erasureCatchUp: false`
 * must last until it has, not end at the first error that is not an outage. The store's listing of versions, which
 * the catch-up reads first, is where it fails.
 */
describe('the erasure catch-up retried in the background after a start the model store did not answer', () => {
  let t: TestApp;
  let mode: 'down' | 'broken' | 'up' = 'down';
  beforeAll(async () => {
    const memory = await createMemoryModelStore({});
    const store: ModelStore = {
      ...memory,
      listVersions: () =>
        mode === 'down'
          ? Promise.reject(new AppError('DEPENDENCY_UNAVAILABLE', 'model store: Connection is closed.'))
          : mode === 'broken'
            ? Promise.reject(new Error('MISCONF-like refusal the catch-up cannot get past'))
            : memory.listVersions(),
      ping: async () => mode === 'up',
    };
    t = await createTestApp({ createDb: createPgliteTestDb, store });
  }, 120_000);
  afterAll(() => t?.dispose());

  const checks = async () => (await t.app.inject({ url: '/health/ready' })).json().checks as Record<string, boolean>;
  const until = async (done: () => Promise<boolean>, ms: number) => {
    const deadline = Date.now() + ms;
    while (!(await done()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  };

  it('When the catch-up then fails with an error that is not an outage, Then the versions stay held and readiness says so until it has run', async () => {
    expect(t.services.serving.holdingCustomerData()).toBe(true);
    expect((await checks()).erasureCatchUp).toBe(false);
    mode = 'broken';
    // The background retries wait 250 ms, then 500 ms...: past a few of them.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(t.services.serving.holdingCustomerData()).toBe(true);
    expect((await checks()).erasureCatchUp).toBe(false);
    mode = 'up';
    await until(async () => !t.services.serving.holdingCustomerData(), 30_000);
    expect(t.services.serving.holdingCustomerData()).toBe(false);
    expect((await checks()).erasureCatchUp).toBe(true);
  }, 60_000);
});
