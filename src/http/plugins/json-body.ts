import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';

/** Methods whose body Fastify parses (every route of them, with a body schema or not), upper case. */
export const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * True when brackets in `json` nest deeper than `max` (strings skipped, escapes honoured). One pass
 * over the text, no allocation: a hostile body of 200k nested arrays is refused in about a millisecond
 * instead of being parsed into 200k objects and then overflowing the stack of the validator.
 */
export function nestsDeeperThan(json: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}

/**
 * JSON bodies are checked for nesting depth before they are parsed, then parsed by Fastify's own parser
 * (secure-json-parse: `__proto__` and `constructor.prototype` keys are refused, as before). JSON is the
 * only body the API takes: Fastify's text/plain parser is removed, so a browser's fetch that left the
 * header out (and sent its JSON as text/plain) gets 415 naming the header, not "expected object, received string".
 */
export function registerJsonBody(app: FastifyInstance, opts: { maxDepth: number }): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.removeContentTypeParser('text/plain');
  // A POST without a body (activate a model, stop an experiment) from a fetch that set no header still says
  // text/plain: nothing to parse, as for an empty JSON body. A text/plain body with content is the 415.
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, body, done) => {
    if ((body as string).trim() === '') return done(null, undefined);
    const err = Object.assign(new Error('Unsupported Media Type'), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' });
    done(err, undefined);
  });
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    // No body under a JSON content type (curl -H 'content-type: application/json' -X DELETE ...): there is
    // nothing to parse, and a route that needs a body says so in its own validation error.
    if (text.trim() === '') return done(null, undefined);
    if (nestsDeeperThan(text, opts.maxDepth)) {
      return done(new AppError('JSON_TOO_DEEP', `The JSON body nests objects/arrays deeper than ${opts.maxDepth} levels`), undefined);
    }
    return parse(request, text, (err, body) => {
      if (err && isPlainJson(text)) {
        // Valid JSON refused for a "__proto__" or "constructor.prototype" key: "not valid JSON" would send the
        // sender looking for a syntax error that is not there.
        return done(new AppError('MALFORMED_JSON', 'The JSON body has a "__proto__" or "constructor.prototype" key, which is refused (prototype poisoning)'), undefined);
      }
      done(err, body);
    });
  });
}

/** Whether JSON.parse reads the text (it does not refuse prototype keys). */
function isPlainJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
