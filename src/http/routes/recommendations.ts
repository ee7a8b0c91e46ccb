import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Serving } from '../../serving/create-serving.js';
import { errors, idParam } from '../schemas/common.js';
import { contextBody, recommendationResponse, userRecommendationQuery } from '../schemas/recommendations.js';
import { plainJsonSerializer } from './plain-json.js';
import type { UserQuery } from '../../serving/recommendation.js';
import { disclosesTo, refuseOwnItems } from '../user-token.js';

export function recommendationRoutes(app: FastifyInstance, deps: { serving: Serving; frontendUserSecret?: string }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['recommendations'];

  r.get('/v1/users/:id/recommendations', {
    config: { scope: 'frontend', userToken: true },
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
      return strangersAnswer(req.query);
    },
  });

  /**
   * For a browser without the customer's token: the answer a visitor nobody knows gets. Anyone may send
   * the public key with any customer id, and a list that depends on the customer's purchases gives them
   * away, if only by leaving them out (a walkthrough rebuilt 58 of 58 purchases from the lists' gaps).
   * Asks that could only list their own purchases are refused, so a storefront learns it needs the token.
   */
  async function strangersAnswer(q: UserQuery) {
    if (q.excludePurchased === false) refuseOwnItems('excludePurchased=false', 'querystring.excludePurchased');
    if (q.strategy !== undefined && (await deps.serving.listsOwnItems(q.strategy))) refuseOwnItems(`strategy ${q.strategy}`, 'querystring.strategy');
    return deps.serving.recommendForStranger(q);
  }

  r.post('/v1/recommendations', {
    config: { scope: 'frontend', userToken: true },
    serializerCompiler: plainJsonSerializer,
    schema: {
      operationId: 'recommendForContext',
      tags,
      summary: 'Recommendations for an anonymous or new visitor from a cart/session context and attributes',
      body: contextBody,
      response: { 200: recommendationResponse, ...errors(400, 401, 403, 413) },
    },
    // A visitor's stored views (`userId`) are theirs: a browser without their token gets the answer from what
    // it sent itself (its cart, its session's views), which it may see named.
    handler: (req) => {
      const { userId, ...sent } = req.body;
      return deps.serving.recommendForContext(userId === undefined || disclosesTo(req, userId, deps.frontendUserSecret) ? req.body : sent);
    },
  });
}
