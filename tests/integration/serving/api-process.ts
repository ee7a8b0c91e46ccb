import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { buildApp } from '../../../src/app.js';
import { loadConfig, type Config } from '../../../src/config.js';
import type { Db } from '../../../src/data/db.js';
import { createServices, type Services } from '../../../src/services.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { auth, KEYS } from '../../helpers/app.js';

/** An API process's configuration in the replica tests: a key of each scope, no sample, quiet, nothing shed. */
export const replicaConfig = (): Config =>
  loadConfig({
    API_KEYS: `read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}`,
    SAMPLE_DATA: 'false',
    LOG_LEVEL: 'silent',
    UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0',
  });

/** One API process on a shared Postgres and model store, built as src/server.ts builds it (storefront: its role there). */
export async function startApiProcess(config: Config, db: Db, store: ModelStore, opts: { storefront?: boolean } = {}): Promise<{ services: Services; app: FastifyInstance }> {
  const services = createServices({ config, db, store, storefront: opts.storefront });
  const app = await buildApp(services);
  await app.ready();
  return { services, app };
}

/** A customer's recommendations from that process (k = 5): item ids, whether a fallback, the version. */
export async function askFor(app: FastifyInstance, user: string): Promise<{ items: string[]; fallback: boolean; modelVersion: string }> {
  const res = await app.inject({ url: `/v1/users/${user}/recommendations?k=5`, headers: auth('read') });
  expect(res.statusCode).toBe(200);
  const { items, fallback, modelVersion } = res.json() as { items: { itemId: string }[]; fallback: boolean; modelVersion: string };
  return { items: items.map((i) => i.itemId), fallback, modelVersion };
}
