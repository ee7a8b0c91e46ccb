import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import type { Db } from '../data/db.js';
import { createServices } from '../services.js';
import type { ModelStore } from '../store/model-store.js';

/**
 * Describing the API needs the routes, not a database: any call on these says so loudly. Optional
 * members (a thenable check, the model store's optional capabilities) are simply absent.
 */
const ABSENT = new Set<string | symbol>(['then', 'onUserErased', 'onErasureAsked', 'announceErasureAsked', 'onActiveChanged', 'peekUserEvents']);

function unreachable<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get: (_t, prop) => {
      if (ABSENT.has(prop)) return undefined;
      return () => {
        throw new Error(`${what} is not available while generating the OpenAPI description`);
      };
    },
  });
}

/** The OpenAPI document of the app as built from its route schemas. */
export async function generateOpenApi(): Promise<Record<string, unknown>> {
  const config = loadConfig({ SAMPLE_DATA: 'false', AUTH_DISABLED: 'true' });
  const services = createServices({ config, db: unreachable<Db>('the database'), store: unreachable<ModelStore>('the model store') });
  const app = await buildApp(services);
  await app.ready();
  const spec = app.swagger() as unknown as Record<string, unknown>;
  await app.close();
  return spec;
}

export const renderOpenApi = (spec: unknown) => `${JSON.stringify(spec, null, 2)}\n`;
