import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOpenApi } from '../../../src/http/openapi-spec.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

type Json = Record<string, unknown>;
type Operation = { operationId: string; requestBody?: { required?: boolean }; responses: Record<string, unknown> };

const WITH_BODY = ['post', 'put', 'patch', 'delete'];

function operations(spec: Json): { method: string; path: string; op: Operation }[] {
  return Object.entries(spec.paths as Record<string, Record<string, Operation>>).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([method]) => ['get', ...WITH_BODY].includes(method))
      .map(([method, op]) => ({ method, path, op })),
  );
}

/** A path of the operation with every parameter filled in (the ids need not exist: the statuses are what is checked). */
const fill = (path: string) => path.replace(/\{[^}]+\}/g, 'x1');

/**
 * What the service really answers against what its OpenAPI description says, for requests a client may
 * well send: the description is what client generators and contract-testing proxies read.
 */
describe('OpenAPI description against what the routes answer', () => {
  let t: TestApp;
  let spec: Json;
  beforeAll(async () => {
    // A small body limit so that an oversized body is cheap; jobs are only queued, never run.
    t = await createTestApp({ createDb: createPgliteTestDb, env: { BODY_LIMIT_BYTES: '2048', JOB_RUNNER: 'worker' } });
    spec = (await generateOpenApi()) as Json;
  });
  afterAll(() => t?.dispose());

  it('When an operation without a request body (activate a model, start or stop an experiment, erase a user) is sent a body anyway, Then the status it answers is one the operation lists', async () => {
    const bodyless = operations(spec).filter(({ method, op }) => WITH_BODY.includes(method) && op.requestBody === undefined);
    expect(bodyless.map(({ op }) => op.operationId).sort()).toEqual(['activateModel', 'eraseUser', 'startExperiment', 'stopExperiment']);
    const undocumented: string[] = [];
    const sends = [
      // A browser's fetch with a string body and no Content-Type header sends text/plain.
      { what: 'a text/plain body', headers: { 'content-type': 'text/plain' }, payload: 'rollback please' },
      { what: 'a JSON body over BODY_LIMIT_BYTES', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ note: 'x'.repeat(4096) }) },
    ];
    for (const { method, path, op } of bodyless) {
      for (const send of sends) {
        const res = await t.app.inject({ method: method.toUpperCase() as 'POST', url: fill(path), headers: { ...auth('admin'), ...send.headers }, payload: send.payload });
        if (!(String(res.statusCode) in op.responses)) undocumented.push(`${method.toUpperCase()} ${path} with ${send.what} -> ${res.statusCode} ${res.json().error?.code}, not among ${Object.keys(op.responses).join(',')}`);
      }
    }
    expect(undocumented).toEqual([]);
  });

  it('When an operation documents its request body as required, Then the service refuses the request without one (POST /v1/training-jobs takes none)', async () => {
    const required = operations(spec).filter(({ op }) => op.requestBody?.required === true);
    expect(required.length).toBeGreaterThan(10);
    const acceptedWithout: string[] = [];
    for (const { method, path, op } of required) {
      const res = await t.app.inject({ method: method.toUpperCase() as 'POST', url: fill(path), headers: auth('admin') });
      if (res.statusCode < 300) acceptedWithout.push(`${method.toUpperCase()} ${path} (${op.operationId}) answered ${res.statusCode} without a body`);
    }
    expect(acceptedWithout).toEqual([]);
  });
  it('When a /v1 operation answers an error, Then the description of that status in its operation names the code sent (JSON_TOO_DEEP is a 400 too)', async () => {
    const ops = operations(spec);
    const byId = (id: string) => ops.find(({ op }) => op.operationId === id)!;
    const json = { ...auth('write'), 'content-type': 'application/json' };
    const sent = [
      { id: 'recordPurchases', payload: '{"events":' + '['.repeat(40) + ']'.repeat(40) + '}' },
      { id: 'recordPurchases', payload: '{"events":' },
      { id: 'recordPurchases', payload: '{"events":[]}' },
      { id: 'upsertItems', payload: '{"items":' + '['.repeat(40) + ']'.repeat(40) + '}' },
    ];
    const unnamed: string[] = [];
    for (const { id, payload } of sent) {
      const { method, path, op } = byId(id);
      const res = await t.app.inject({ method: method.toUpperCase() as 'POST', url: fill(path), headers: json, payload });
      const code = res.json().error?.code as string;
      const description = (op.responses[String(res.statusCode)] as { description?: string } | undefined)?.description ?? '';
      if (!description.includes(code)) unnamed.push(`${method.toUpperCase()} ${path} -> ${res.statusCode} ${code}; documented: "${description}"`);
    }
    expect(unnamed).toEqual([]);
  });
});
