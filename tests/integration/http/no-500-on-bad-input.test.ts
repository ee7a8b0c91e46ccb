import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOpenApi } from '../../../src/http/openapi-spec.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

/**
 * Bad input is a 4xx in the error shape, never a 5xx: every documented route is called with hostile
 * path parameters, query strings and bodies (with an admin key, so auth is not what stops them).
 */
const HOSTILE_IDS = ['%00', '..%2F..%2Fetc%2Fpasswd', 'x'.repeat(300), '%F0%9F%92%A9', "'; DROP TABLE users; --", '%E0%A4%A'];
const HOSTILE_QUERIES = ['k=-1', 'k=abc&k=2', 'limit=1e309', 'offset=-5', 'diversity=NaN', 'minPrice=5&maxPrice=1', 'strategy[]=x', 'days=0', 'dimension=__proto__', '__proto__[x]=1'];
const HOSTILE_BODIES: unknown[] = [null, [], 'text', 42, { __proto__: { admin: true } }, { events: [{}] }, { items: 'no' }, { split: { kind: 'temporal', cutoff: 'never' } }, { format: 'generic', path: '/proc/self/environ' }, { recipe: '../../etc/passwd' }];

describe('no 5xx on bad input', () => {
  let t: TestApp;
  let routes: { method: string; path: string }[] = [];
  beforeAll(async () => {
    // JOB_RUNNER=worker: accepted jobs stay queued instead of running during the test.
    t = await createTestApp({ createDb: createPgliteTestDb, env: { JOB_RUNNER: 'worker' } });
    const spec = (await generateOpenApi()) as { paths: Record<string, Record<string, unknown>> };
    routes = Object.entries(spec.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path })));
  });
  afterAll(() => t.dispose());

  it('When every route gets hostile ids, queries and bodies, Then every answer is below 500 and in the error shape when an error', async () => {
    expect(routes.length).toBeGreaterThan(25);
    const failures: string[] = [];
    for (const { method, path } of routes) {
      for (const id of HOSTILE_IDS) {
        const url = path.replace(/\{[^}]+\}/g, id);
        for (const query of HOSTILE_QUERIES) {
          const bodies = method === 'GET' || method === 'DELETE' ? [undefined] : HOSTILE_BODIES;
          for (const body of bodies) {
            const res = await t.app.inject({
              method: method as 'GET',
              url: `${url}?${query}`,
              headers: { ...auth('admin'), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
              payload: body === undefined ? undefined : JSON.stringify(body),
            });
            if (res.statusCode >= 500) failures.push(`${method} ${url}?${query} ${JSON.stringify(body)} -> ${res.statusCode} ${res.body.slice(0, 120)}`);
            else if (res.statusCode >= 400 && typeof res.json().error?.code !== 'string') failures.push(`${method} ${url}: ${res.statusCode} without the error shape`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
