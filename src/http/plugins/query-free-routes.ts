import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';

/**
 * A /v1 route that declares no query parameters refuses any, as the routes that declare theirs refuse
 * unknown ones (strict schemas): `POST /v1/recommendations?k=2` answered 10 items, silently ignoring the
 * `k` its author meant for the body.
 */
export function registerQueryFreeRoutes(app: FastifyInstance): void {
  app.addHook('preValidation', (request, _reply, done) => {
    const names = Object.keys(request.query as object);
    if (names.length === 0) return done();
    // The matched route's template, not the request target (`/%76%31/...` is a /v1 route too).
    const route = request.routeOptions;
    if (!route.url?.startsWith('/v1/') || route.schema?.querystring) return done();
    done(
      new AppError('VALIDATION_FAILED', `${request.method} ${request.routeOptions.url} takes no query parameters; got ${names.slice(0, 5).join(', ')}`, [
        { path: `querystring.${names[0]}`, message: 'not a parameter of this route' },
      ]),
    );
  });
}
