import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { describeResponses, documentRouteConventions, tidyComponents } from '../openapi-document.js';
import { errorResponse } from '../schemas/common.js';
import { userTokenHeaders } from '../schemas/recommendations.js';
import { BODY_METHODS } from './json-body.js';

/**
 * Errors any scoped route can answer whatever it declares: the auth check (401, 403) and the
 * app-wide protections in front of every handler (rate limits: 429; a lost dependency, overload or
 * shutdown: 503).
 */
const CROSS_CUTTING_ERRORS = [401, 403, 429, 503];

/** Answered by the router before any route runs, on a path parameter over MAX_PARAM_LENGTH (error-handler.ts). */
const PATH_PARAMETER_ERRORS = [414];

/**
 * Answered before a route of a method that may carry a body runs: a body that is not JSON (415), or over
 * BODY_LIMIT_BYTES (413). Fastify parses the body of every POST, PUT, PATCH and DELETE, so an operation that
 * takes none (activate a model, erase a user) answers them too when a client sends one anyway.
 */
const BODY_ERRORS = [413, 415];

/** OpenAPI from the routes' zod schemas: the UI at /docs, the spec at /docs/json. */
export async function registerDocs(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Recommendation service',
        description: 'Ingests catalog, customers and purchases; trains recommenders; serves recommendations.',
        version,
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API key as a bearer token' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
    // A route's scope (its `config.scope`, the one place it is declared) becomes its security
    // requirement: OpenAPI 3.1 lets a non-OAuth requirement list the roles it needs, so clients and the
    // route-enumerating auth test read the scope from the document.
    transform: (input) => {
      const scope = input.route?.config?.scope;
      if (!scope || !input.schema || input.schema.hide) return jsonSchemaTransform(input);
      const response = { ...(input.schema.response as Record<number, unknown> | undefined) };
      for (const status of CROSS_CUTTING_ERRORS) response[status] ??= errorResponse;
      if (input.url.includes(':')) for (const status of PATH_PARAMETER_ERRORS) response[status] ??= errorResponse;
      const parsesBody = input.schema.body !== undefined || [input.route?.method ?? []].flat().some((m) => BODY_METHODS.has(String(m).toUpperCase()));
      if (parsesBody) for (const status of BODY_ERRORS) response[status] ??= errorResponse;
      // Documented, not validated: a zod parse of every request's headers on the recommendation path for a
      // header the route checks itself.
      const headers = input.route?.config?.userToken ? { headers: userTokenHeaders } : {};
      const out = jsonSchemaTransform({ ...input, schema: { ...input.schema, response, ...headers } });
      const schema = out.schema as Record<string, unknown>;
      const description = [schema.description, `Scope: \`${scope}\`.`].filter(Boolean).join('\n\n');
      return { ...out, schema: { ...schema, security: [{ bearer: [scope] }, { apiKey: [scope] }], description } };
    },
    transformObject: (input) => documentRouteConventions(describeResponses(tidyComponents(jsonSchemaTransformObject(input) as Record<string, unknown>))) as never,
  });
  // The UI pages carry their own content security policy (its scripts and styles by hash), replacing the
  // API's `default-src 'none'` (src/http/plugins/security-headers.ts). Without the plugin's
  // upgrade-insecure-requests: over plain HTTP by host name (a container, an internal host) the browser
  // would fetch the page's scripts over https, which the service does not speak, and show a blank page.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/g, ''),
  });
}
