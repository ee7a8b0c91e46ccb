import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

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
    // Routes that need a key say so, and which scope, in the description the UI shows.
    transform: (input) => {
      const out = jsonSchemaTransform(input);
      const scope = (input.route as { config?: { scope?: string } } | undefined)?.config?.scope;
      if (!scope) return out;
      const schema = out.schema as Record<string, unknown>;
      return {
        ...out,
        schema: { ...schema, security: [{ bearer: [] }, { apiKey: [] }], description: `Scope: \`${scope}\`.` },
      };
    },
    transformObject: jsonSchemaTransformObject,
  });
  // The UI pages carry their own content security policy (its scripts and styles by hash), replacing the
  // API's `default-src 'none'` (src/http/plugins/security-headers.ts).
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
}
