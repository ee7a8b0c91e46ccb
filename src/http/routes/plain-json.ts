import type { FastifyRouteSchemaDef } from 'fastify/types/schema.js';
import { serializerCompiler } from 'fastify-type-provider-zod';

/**
 * The recommendation routes' serializer. Their zod response schemas stay in the route definitions, where
 * they feed OpenAPI, but validating every response with zod costs CPU on each request on the hottest
 * path (measured in bench/README.md), and the use cases build these objects themselves, typed by the
 * same shape (tests parse real responses with the schemas). So 2xx bodies are written with plain
 * JSON.stringify; error bodies keep the zod serializer. (fast-json-stringify compiled from the same
 * schema was tried: slower on real responses, 10.3 vs 8.5 µs for a 1.7 KB answer, as items differ in
 * which optional fields they carry.)
 */
export function plainJsonSerializer<T>(route: FastifyRouteSchemaDef<T>): (data: unknown) => string {
  if (/^2/.test(String(route.httpStatus))) return (data) => JSON.stringify(data);
  return serializerCompiler(route as unknown as Parameters<typeof serializerCompiler>[0]);
}
