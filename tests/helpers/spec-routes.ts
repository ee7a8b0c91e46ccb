import { generateOpenApi } from '../../src/http/openapi-spec.js';

type Json = Record<string, unknown>;

export interface SpecParameter {
  name: string;
  in: string;
  schema?: Json;
}

/** One operation of the generated OpenAPI document, as tests enumerate them. */
export interface SpecRoute {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH';
  /** OpenAPI template, e.g. /v1/items/{id}. */
  path: string;
  operationId: string;
  /** The scope the route needs, from its security requirement; undefined for public routes. */
  scope: string | undefined;
  parameters: SpecParameter[];
  /** JSON schema of the request body, with `$ref`s to `components`. */
  body: Json | undefined;
}

export interface SpecRoutes {
  routes: SpecRoute[];
  /** components.schemas, to resolve `$ref`s. */
  components: Record<string, Json>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/**
 * Every operation of the app's OpenAPI document. The scope comes from the operation's security
 * requirement, which the docs plugin derives from the route's `config.scope`: the one place a route's
 * scope is declared.
 */
export async function specRoutes(): Promise<SpecRoutes> {
  const spec = (await generateOpenApi()) as { paths: Record<string, Record<string, Json>>; components: { schemas: Record<string, Json> } };
  const routes = Object.entries(spec.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]): SpecRoute => {
        const security = op.security as Record<string, string[]>[] | undefined;
        const scopes = new Set(security?.flatMap((requirement) => Object.values(requirement).flat()));
        if (scopes.size > 1) throw new Error(`${method} ${path} names several scopes: ${[...scopes].join(', ')}`);
        const body = op.requestBody as { content?: Record<string, { schema?: Json }> } | undefined;
        return {
          method: method.toUpperCase() as SpecRoute['method'],
          path,
          operationId: String(op.operationId),
          scope: [...scopes][0],
          parameters: (op.parameters as SpecParameter[] | undefined) ?? [],
          body: body?.content?.['application/json']?.schema,
        };
      }),
  );
  return { routes, components: spec.components.schemas };
}

/** The path with every `{param}` replaced by `value` (URL-encoded). */
export const fillPath = (path: string, value: (name: string) => string) =>
  path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(value(name)));
