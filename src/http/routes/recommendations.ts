import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Serving } from '../../serving/create-serving.js';
import { errors, idParam } from '../schemas/common.js';
import { contextBody, recommendationResponse, userRecommendationQuery } from '../schemas/recommendations.js';
import { plainJsonSerializer } from './plain-json.js';
import type { UserQuery } from '../../serving/recommendation.js';
import { discreet, disclosesTo, refuseOwnItems } from '../user-token.js';

export function recommendationRoutes(app: FastifyInstance, deps: { serving: Serving; frontendUserSecret?: string }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['recommendations'];

  r.get('/v1/users/:id/recommendations', {
    config: { scope: 'frontend' },
    serializerCompiler: plainJsonSerializer,
    schema: {
      operationId: 'recommendForUser',
      tags,
      summary: 'Top-k recommendations for a user (cold-start answer with fallback: true for users the model does not know)',
      params: idParam,
      querystring: userRecommendationQuery,
      response: { 200: recommendationResponse, ...errors(400, 401, 403) },
    },
    handler: (req) => {
      const userId = req.params.id;
      // A repeated question with a kept answer is answered in the same tick; anything else awaits.
      if (disclosesTo(req, userId, deps.frontendUserSecret)) return deps.serving.recommendForUserNow(userId, req.query) ?? deps.serving.recommendForUser(userId, req.query);
      return discreetAnswer(userId, req.query);
    },
  });

  /** For a browser without the customer's token: never their own purchases, and explanations that name nothing of theirs. */
  async function discreetAnswer(userId: string, q: UserQuery) {
    if (q.excludePurchased === false) refuseOwnItems('excludePurchased=false', 'querystring.excludePurchased');
    if (q.strategy !== undefined && (await deps.serving.listsOwnItems(q.strategy))) refuseOwnItems(`strategy ${q.strategy}`, 'querystring.strategy');
    const query = { ...q, excludePurchased: true };
    // An A/B arm of an own-items strategy cannot show this reader anything: serving gives the default list,
    // untagged, so the arm's rates measure only what it showed.
    const arms = { withoutOwnItems: true };
    return discreet(deps.serving.recommendForUserNow(userId, query, arms) ?? (await deps.serving.recommendForUser(userId, query, arms)));
  }

  r.post('/v1/recommendations', {
    config: { scope: 'frontend' },
    serializerCompiler: plainJsonSerializer,
    schema: {
      operationId: 'recommendForContext',
      tags,
      summary: 'Recommendations for an anonymous or new visitor from a cart/session context and attributes',
      body: contextBody,
      response: { 200: recommendationResponse, ...errors(400, 401, 403, 413) },
    },
    // A visitor's stored views (`userId`) are theirs: a browser without their token gets explanations naming
    // none. Items the browser sent itself (its cart, its session's views) may be named.
    handler: async (req) => {
      const answer = await deps.serving.recommendForContext(req.body);
      return req.body.userId === undefined || disclosesTo(req, req.body.userId, deps.frontendUserSecret) ? answer : discreet(answer);
    },
  });
}
