import type { FastifyRouteSchemaDef } from 'fastify/types/schema.js';
import { serializerCompiler } from 'fastify-type-provider-zod';

/** The envelope every list response has (src/serving/recommendation.ts), in JSON.stringify's key order. */
const ENVELOPE = ['recommendationId', 'modelVersion', 'strategy', 'fallback', 'items'];

/** JSON of frozen items arrays: a frozen list never changes, so its JSON never does either. */
const itemsJson = new WeakMap<object, string>();

/**
 * Writes a list response. A reused answer (its items array frozen by the serving answer cache) has the
 * JSON of its items written once and kept for as long as the array lives; only the envelope, with the
 * new recommendationId, is written per response. Anything else is plain JSON.stringify.
 */
function stringifyList(data: unknown): string {
  const r = data as Record<string, unknown>;
  const items = r.items;
  if (!Array.isArray(items) || !Object.isFrozen(items)) return JSON.stringify(data);
  const keys = Object.keys(r);
  // The envelope, and an experiment's tag after it when an experiment chose the strategy.
  const tagged = keys.length === ENVELOPE.length + 1 && keys[ENVELOPE.length] === 'experiment';
  if ((keys.length !== ENVELOPE.length && !tagged) || ENVELOPE.some((k, i) => k !== keys[i])) return JSON.stringify(data);
  let json = itemsJson.get(items);
  if (json === undefined) itemsJson.set(items, (json = JSON.stringify(items)));
  const experiment = tagged ? `,"experiment":${JSON.stringify(r.experiment)}` : '';
  return `{"recommendationId":${JSON.stringify(r.recommendationId)},"modelVersion":${JSON.stringify(r.modelVersion)},"strategy":${JSON.stringify(r.strategy)},"fallback":${JSON.stringify(r.fallback)},"items":${json}${experiment}}`;
}

/**
 * The recommendation routes' serializer. Their zod response schemas stay in the route definitions, where
 * they feed OpenAPI, but validating every response with zod costs CPU on each request on the hottest
 * path (measured in bench/README.md), and the use cases build these objects themselves, typed by the
 * same shape (tests parse real responses with the schemas). So 2xx bodies are written with plain
 * JSON.stringify (reusing the items' JSON of reused answers); error bodies keep the zod serializer.
 * (fast-json-stringify compiled from the same schema was tried: slower on real responses, 10.3 vs
 * 8.5 µs for a 1.7 KB answer, as items differ in which optional fields they carry.)
 */
export function plainJsonSerializer<T>(route: FastifyRouteSchemaDef<T>): (data: unknown) => string {
  if (/^2/.test(String(route.httpStatus))) return stringifyList;
  return serializerCompiler(route as unknown as Parameters<typeof serializerCompiler>[0]);
}
