import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOpenApi, renderOpenApi } from '../../../src/http/openapi-spec.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

type Json = Record<string, unknown>;
type Operation = { operationId?: string; summary?: string; responses: Record<string, { description: string; content?: Record<string, { schema?: Json }> }> };

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

function operations(spec: Json): { method: string; path: string; op: Operation }[] {
  return Object.entries(spec.paths as Record<string, Record<string, Operation>>).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ method, path, op })),
  );
}

/** Every Schema Object of the document: components, parameters, request and response bodies. */
function schemaObjects(spec: Json): { where: string; schema: Json }[] {
  const found = Object.entries((spec.components as { schemas: Record<string, Json> }).schemas).map(([name, schema]) => ({ where: `components.schemas.${name}`, schema }));
  for (const { method, path, op } of operations(spec)) {
    const o = op as Operation & { parameters?: { name: string; schema: Json }[]; requestBody?: { content: Record<string, { schema: Json }> } };
    for (const p of o.parameters ?? []) found.push({ where: `${method} ${path} parameter ${p.name}`, schema: p.schema });
    for (const [type, media] of Object.entries(o.requestBody?.content ?? {})) found.push({ where: `${method} ${path} body ${type}`, schema: media.schema });
    for (const [status, res] of Object.entries(o.responses)) {
      for (const media of Object.values(res.content ?? {})) if (media.schema) found.push({ where: `${method} ${path} ${status}`, schema: media.schema });
    }
  }
  return found;
}

function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refs(n, out));
  else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) k === '$ref' && typeof v === 'string' ? out.push(v) : refs(v, out);
  return out;
}

describe('OpenAPI description', () => {
  it('When routes change, Then the checked-in openapi/openapi.json must be regenerated (npm run openapi)', async () => {
    const current = renderOpenApi(await generateOpenApi());
    const checkedIn = readFileSync(new URL('../../../openapi/openapi.json', import.meta.url), 'utf8');
    expect(checkedIn, 'openapi/openapi.json is stale: run `npm run openapi`').toBe(current);
  });

  it('When validated against the OpenAPI 3.1 schema, Then it passes and documents every /v1 route', async () => {
    const spec = await generateOpenApi();
    const validator = new Validator();
    const result = await validator.validate(structuredClone(spec));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    const paths = Object.keys(spec.paths as object);
    expect(paths).toEqual(expect.arrayContaining(['/v1/items/{id}', '/v1/events', '/v1/users/{id}', '/health/ready']));
  });

  it('When each Schema Object is checked against the JSON Schema 2020-12 meta-schema, Then all pass (no fragment $id)', async () => {
    // The OpenAPI 3.1 schema leaves Schema Objects to their dialect; strict validators check them
    // against it, and a `$id` such as '#/components/schemas/Item' fails there.
    const ajv = new Ajv2020({ strict: false });
    const failures = schemaObjects(await generateOpenApi())
      .filter(({ schema }) => !ajv.validateSchema(schema))
      .map(({ where }) => `${where}: ${ajv.errorsText()}`);
    expect(failures).toEqual([]);
  });

  it('When an operation refers to a schema, Then the reference resolves and every component is used', async () => {
    const spec = await generateOpenApi();
    const components = (spec.components as { schemas: Json }).schemas;
    const all = refs(spec.paths).concat(refs(components));
    expect(all.filter((r) => !r.startsWith('#/components/schemas/') || !(r.slice(21) in components))).toEqual([]);
    const used = new Set(all.map((r) => r.slice(21)));
    expect(Object.keys(components).filter((name) => !used.has(name))).toEqual([]);
    expect(Object.keys(components).filter((name) => name.endsWith('InputInput'))).toEqual([]);
    expect(JSON.stringify(spec)).not.toContain('"$id"');
  });

  it('When a client generator reads the operations, Then each has a unique camelCase operationId, a summary and described responses', async () => {
    const ops = operations(await generateOpenApi());
    expect(ops.length).toBeGreaterThan(25);
    const ids = ops.map(({ op }) => op.operationId);
    expect(ids.filter((id) => !/^[a-z][a-zA-Z0-9]*$/.test(id ?? ''))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ops.filter(({ op }) => !op.summary?.trim()).map(({ method, path }) => `${method} ${path}`)).toEqual([]);
    const undescribed = ops.flatMap(({ method, path, op }) =>
      Object.entries(op.responses)
        .filter(([, r]) => !r.description || r.description === 'Default Response')
        .map(([status]) => `${method} ${path} ${status}`),
    );
    expect(undescribed).toEqual([]);
  });

  it('When a /v1 route answers an error, Then the documented body is the one shared Error schema', async () => {
    const spec = await generateOpenApi();
    const notError = operations(spec)
      .filter(({ path }) => path.startsWith('/v1/'))
      .flatMap(({ method, path, op }) =>
        Object.entries(op.responses)
          .filter(([status]) => Number(status) >= 400)
          .filter(([, r]) => r.content?.['application/json']?.schema?.$ref !== '#/components/schemas/Error')
          .map(([status]) => `${method} ${path} ${status}`),
      );
    expect(notError).toEqual([]);
    // Every scoped route documents the auth errors and the app-wide ones.
    const scoped = operations(spec).filter(({ op }) => (op as { security?: unknown }).security);
    expect(scoped.filter(({ op }) => !['401', '403', '429', '503'].every((s) => s in op.responses)).map(({ path }) => path)).toEqual([]);
  });

  it('When a client reads the error statuses, Then each names the codes the service sends: 414 on every path parameter, 503 its three causes', async () => {
    const ops = operations(await generateOpenApi()).filter(({ path }) => path.startsWith('/v1/'));
    const withParam = ops.filter(({ path }) => path.includes('{'));
    expect(withParam.length).toBeGreaterThan(10);
    expect(withParam.filter(({ op }) => !op.responses['414']?.description.includes('URI_TOO_LONG')).map(({ method, path }) => `${method} ${path}`)).toEqual([]);
    expect(ops.filter(({ path }) => !path.includes('{')).filter(({ op }) => '414' in op.responses)).toEqual([]);
    // Every operation's 503 names the app-wide causes; eraseUser's names its own code besides them.
    const isErase = (op: unknown) => (op as { operationId?: string }).operationId === 'eraseUser';
    const unavailable = new Set(ops.filter(({ op }) => !isErase(op)).map(({ op }) => op.responses['503']?.description));
    expect(unavailable.size).toBe(1);
    const [description] = [...unavailable];
    for (const code of ['DEPENDENCY_UNAVAILABLE', 'OVERLOADED', 'SHUTTING_DOWN']) expect(description).toContain(code);
    expect(description).not.toContain('code UNAVAILABLE');
    expect(description).not.toContain('ERASURE_HELD_ELSEWHERE');
    const erase = ops.find(({ op }) => isErase(op))!.op.responses['503'].description;
    expect(erase.startsWith(description!)).toBe(true);
    expect(erase).toContain('ERASURE_HELD_ELSEWHERE');
    // A 400 names the Host check's code everywhere, the body parser's where the method carries a body (a GET's is never read).
    const with400 = ops.filter(({ op }) => '400' in op.responses);
    expect(with400.filter(({ op }) => !op.responses['400'].description.includes('MALFORMED_REQUEST')).map(({ method, path }) => `${method} ${path}`)).toEqual([]);
    const bodyMethod = (method: string) => ['post', 'put', 'patch', 'delete'].includes(method);
    expect(with400.filter(({ method, op }) => bodyMethod(method) !== ['MALFORMED_JSON', 'JSON_TOO_DEEP'].every((code) => op.responses['400'].description.includes(code))).map(({ method, path }) => `${method} ${path}`)).toEqual([]);
  });

  it('When a client reads a 429 or a 503 of a /v1 operation, Then it names the Retry-After header the service sends with it (eraseUser\'s 503 too)', async () => {
    const ops = operations(await generateOpenApi()).filter(({ path }) => path.startsWith('/v1/')) as { method: string; path: string; op: { operationId?: string; responses: Record<string, { headers?: Record<string, { schema?: Json }> }> } }[];
    const limited = ops.flatMap(({ method, path, op }) => ['429', '503'].filter((s) => s in op.responses).map((s) => ({ at: `${method} ${path} ${s}`, res: op.responses[s] })));
    expect(limited.length).toBeGreaterThan(20);
    expect(limited.filter(({ res }) => res.headers?.['Retry-After']?.schema?.type !== 'integer').map(({ at }) => at)).toEqual([]);
    expect(ops.find(({ op }) => op.operationId === 'eraseUser')?.op.responses['503']?.headers?.['Retry-After']).toBeDefined();
    // The health probes (review r1): /health/serving is shed with the requests it speaks for, in the error shape with
    // Retry-After (load-shedding.test.ts); /health/ready never is, and its 503 sends none.
    const probes = operations(await generateOpenApi()).filter(({ path }) => path.startsWith('/health/')) as typeof ops;
    const probe503 = (p: string) => probes.find(({ path }) => path === p)?.op.responses['503'];
    expect(probe503('/health/serving')?.headers?.['Retry-After']?.schema?.type).toBe('integer');
    expect(probe503('/health/ready')).toBeDefined();
    expect(probe503('/health/ready')?.headers).toBeUndefined();
  });

  it('When a client reads an operation with a body, Then 415 (not JSON) and 413 are listed; an operation that takes none but whose method carries one lists them as answers to a body sent anyway; a GET lists neither', async () => {
    const ops = operations(await generateOpenApi()).filter(({ path }) => path.startsWith('/v1/')) as { method: string; path: string; op: Operation & { requestBody?: unknown } }[];
    const withBody = ops.filter(({ op }) => op.requestBody !== undefined);
    expect(withBody.map(({ method, path }) => `${method} ${path}`)).toContain('post /v1/recommendations');
    expect(withBody.filter(({ op }) => !op.responses['415']?.description.includes('application/json') || !('413' in op.responses)).map(({ method, path }) => `${method} ${path}`)).toEqual([]);
    // Fastify parses the body of any POST, PUT, PATCH or DELETE: activating a model with a text/plain body is a 415.
    const bodyless = ops.filter(({ method, op }) => method !== 'get' && op.requestBody === undefined);
    expect(bodyless.map(({ method, path }) => `${method} ${path}`)).toContain('post /v1/models/{version}/activate');
    expect(bodyless.filter(({ op }) => !op.responses['415']?.description.includes('takes no body') || !op.responses['413']?.description.includes('takes no body')).map(({ method, path }) => `${method} ${path}`)).toEqual([]);
    expect(ops.filter(({ method, op }) => method === 'get' && ('415' in op.responses || '413' in op.responses)).map(({ method, path }) => `${method} ${path}`)).toEqual([]);
  });

  it("When a storefront generates a client, Then the customer's X-User-Token header is a parameter of the recommendation operations", async () => {
    const ops = operations(await generateOpenApi()) as { method: string; path: string; op: Operation & { operationId: string; parameters?: { in: string; name: string }[] } }[];
    for (const id of ['recommendForUser', 'recommendForContext']) {
      const op = ops.find((o) => o.op.operationId === id)!.op;
      expect(op.parameters?.filter((p) => p.in === 'header').map((p) => p.name.toLowerCase()), id).toEqual(['x-user-token']);
    }
  });
});

describe('OpenAPI description against the routes', () => {
  let t: TestApp;
  let spec: Json;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPgliteTestDb });
    spec = (await generateOpenApi()) as Json;
  });
  afterAll(() => t?.dispose());

  it('When a /v1 route that takes no query parameters gets one, Then the 400 it answers is a status its operation lists', async () => {
    const undocumented: string[] = [];
    for (const { method, path, op } of operations(spec)) {
      const takesQuery = ((op as { parameters?: { in: string }[] }).parameters ?? []).some((p) => p.in === 'query');
      if (method !== 'get' || !path.startsWith('/v1/') || path.includes('{') || takesQuery) continue;
      const res = await t.app.inject({ url: `${path}?page=2`, headers: auth('admin') });
      if (!(String(res.statusCode) in op.responses)) undocumented.push(`GET ${path}?page=2 -> ${res.statusCode}`);
    }
    expect(undocumented).toEqual([]);
  });

  it('When a client generator reads the export download, Then its 200 is the file types sent (CSV, JSON Lines), not JSON', () => {
    const [download] = operations(spec).filter(({ op }) => op.operationId === 'downloadExport');
    expect(Object.keys(download.op.responses['200'].content ?? {}).sort()).toEqual(['application/x-ndjson', 'text/csv']);
  });
});
