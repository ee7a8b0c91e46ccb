import { describe, expect, it } from 'vitest';
import { acceptsNull, documentRouteConventions } from '../../../src/http/openapi-document.js';

describe('acceptsNull: whether a request body schema lets the body be left out', () => {
  const components = { Optional: { anyOf: [{ type: 'object' }, { type: 'null' }] }, Plain: { type: 'object' }, Loop: { $ref: '#/components/schemas/Loop' } };
  it.each([
    [{ type: 'null' }, true],
    [{ type: ['object', 'null'] }, true],
    [{ anyOf: [{ type: 'object' }, { type: 'null' }] }, true],
    [{ oneOf: [{ type: 'string' }, { const: null }] }, true],
    [{ enum: ['a', null] }, true],
    [{ type: 'object', nullable: true }, true],
    [{ $ref: '#/components/schemas/Optional' }, true],
    [{ type: 'object' }, false],
    [{ $ref: '#/components/schemas/Plain' }, false],
    [{ $ref: '#/components/schemas/Loop' }, false],
    [{ anyOf: [{ type: 'object' }, { type: 'array' }] }, false],
  ])('%j -> %s', (schema, expected) => expect(acceptsNull(schema, components)).toBe(expected));

  it('When an operation body accepts null, Then documentRouteConventions makes it not required; other bodies stay required', () => {
    const body = (schema: unknown) => ({ required: true, content: { 'application/json': { schema } } });
    const document = {
      paths: {
        '/v1/a': { post: { operationId: 'a', requestBody: body({ $ref: '#/components/schemas/Optional' }), responses: {} } },
        '/v1/b': { post: { operationId: 'b', requestBody: body({ $ref: '#/components/schemas/Plain' }), responses: {} } },
      },
      components: { schemas: components },
    };
    const out = documentRouteConventions(document) as typeof document;
    expect(out.paths['/v1/a'].post.requestBody.required).toBe(false);
    expect(out.paths['/v1/b'].post.requestBody.required).toBe(true);
  });
});
