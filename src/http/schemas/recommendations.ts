import { z } from 'zod';
import { SIMILAR_STRATEGIES } from '../../serving/item-lists.js';
import { attributes, id, once, queryFlag, queryNumber } from './common.js';
import { experimentTag } from './experiments.js';

/** `a,b,c` or a repeated parameter, as a list of ids. */
const idList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(id).max(500))
  .describe('Item ids never to return, comma-separated');

const price = queryNumber(z.coerce.number().nonnegative().finite());
const priceOrder = (q: { minPrice?: number; maxPrice?: number }) => q.minPrice === undefined || q.maxPrice === undefined || q.minPrice <= q.maxPrice;
const priceOrderIssue = { message: 'minPrice must not exceed maxPrice', path: ['maxPrice'] };

/** Size and filters shared by every list (query-string form). */
const listQueryFields = {
  k: queryNumber(z.coerce.number().int().min(1).max(100).default(10)).describe('How many items (1..100)'),
  exclude: idList.optional(),
  category: once(z.string().min(1).max(200)).optional().describe('Only items in this category or below it (`Kitchen` takes `Kitchen/Mugs` and `Kitchen > Pans`; case ignored)'),
  minPrice: price.optional().describe('Only items with a known unit price >= minPrice'),
  maxPrice: price.optional().describe('Only items with a known unit price <= maxPrice'),
  diversity: queryNumber(z.coerce.number().min(0).max(1).default(0)).describe("0 = pure relevance; up to 1 = favour dissimilar items (MMR over the active model's content or item-kNN neighbours; without an active model the list keeps its order)"),
};

/**
 * The header a browser's frontend key proves the customer with (README, "Scopes"), for the API description
 * of the routes whose config says `userToken` (docs.ts); the route reads and checks it (user-token.ts).
 */
export const userTokenHeaders = z.looseObject({
  'x-user-token': z
    .string()
    .optional()
    .describe("With a frontend key: the customer's token, hex HMAC-SHA256 of the user id under FRONTEND_USER_SECRET, signed by the shop's backend. Without a valid one the answer depends on nothing of the customer's"),
});

export const userRecommendationQuery = z
  .strictObject({
    ...listQueryFields,
    strategy: once(z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/)
      .max(64))
      .optional()
      .describe(
        '`hybrid` or one recommender of the active model (popularity, item-knn, user-knn, content, als, ease, cooccurrence, buy-again, repurchase, trend). When absent: the arm of the active A/B experiment, else `hybrid`; a given strategy bypasses the experiment. With a frontend key and no valid X-User-Token, buy-again and repurchase are 403 and the others answer as for an unknown visitor',
      ),
    excludePurchased: queryFlag.optional().describe('Leave out what the user bought (default true, except for strategy=buy-again and strategy=repurchase); false is 403 with a frontend key and no valid X-User-Token'),
  })
  .refine(priceOrder, priceOrderIssue);

export const similarQuery = z
  .strictObject({
    ...listQueryFields,
    strategy: once(z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/)
      .max(64)
      .default('item-knn'))
      .describe(
        `Which neighbours rank the list: a recommender family (${SIMILAR_STRATEGIES.join(', ')}), answered by the active model's source of that family, or the name the active recipe gives one of its sources of those families (e.g. \`knn\` for a source with \`"recommender": "item-knn"\`); another name is 400 listing what the model offers (when the model store answers that no model is active, any name that is no family is 400; while it cannot be read, popularity answers any name, fallback: true). The list's \`strategy\` names the source that answered`,
      ),
  })
  .refine(priceOrder, priceOrderIssue);

export const listQuery = z.strictObject(listQueryFields).refine(priceOrder, priceOrderIssue);

export const popularQuery = z
  .strictObject({
    ...listQueryFields,
    attribute: once(z
      .string()
      .regex(/^[^:]{1,128}:.{1,256}$/, 'expected name:value, e.g. country:France')
      .transform((s) => ({ name: s.slice(0, s.indexOf(':')), value: s.slice(s.indexOf(':') + 1) })))
      .optional()
      .describe('A user attribute value, e.g. country:France'),
    windowDays: queryNumber(z.coerce.number().int().min(1).max(3650)).optional().describe('Only purchases of the last N days (before the latest purchase)'),
  })
  .refine(priceOrder, priceOrderIssue);

export const contextBody = z
  .strictObject({
    items: z.array(id).max(100).default([]).describe('Cart or session item ids, oldest first'),
    viewed: z.array(id).max(100).optional().describe('Item ids viewed in the session, oldest first: weaker anchors than `items`'),
    excludeViewed: z.boolean().default(true).describe('Leave out the items viewed (sent in `viewed`, or stored for `userId`), as cart items always are; false lets them back (a "viewed recently" strip)'),
    userId: id.optional().describe("A visitor whose stored views (POST /v1/events, type view) join `viewed`, and whose stored attributes count when `attributes` is not sent; their purchases are not read, except that a userId sent with no context at all (no items, no viewed, no stored views, no attributes) is answered that customer's own list, as GET /v1/users/:id/recommendations answers it. With a frontend key, only with the visitor's valid X-User-Token (otherwise ignored)"),
    attributes: attributes.optional(),
    k: z.int().min(1).max(100).default(10),
    exclude: z.array(id).max(500).optional(),
    category: z.string().min(1).max(200).optional(),
    minPrice: z.number().nonnegative().finite().optional(),
    maxPrice: z.number().nonnegative().finite().optional(),
    diversity: z.number().min(0).max(1).default(0),
  })
  .refine(priceOrder, priceOrderIssue)
  .meta({ id: 'ContextRecommendationInput' });

const itemFields = {
  itemId: z.string(),
  score: z.number(),
  sources: z
    .array(z.string())
    .describe('Recommenders that gave the item a meaningful share of its score; the first is the one that put it on the list (largest share)'),
  explanation: z
    .string()
    .optional()
    .describe('Why, in the words of the first source: "because you bought X" (X a purchase that source relates to the item), "popular in France", "trending now", ...'),
  title: z.string().optional(),
};

const envelope = {
  recommendationId: z
    .string()
    .describe(
      'Send back with feedback events. An opaque token the service signs (at most 256 characters; new for every answer): it carries the ' +
        "answer's strategy, experiment and arm, so feedback sent with a frontend key is labelled with the list the service served",
    ),
  modelVersion: z.string().nullable().describe('The model version that answered; null without an active model'),
  strategy: z
    .string()
    .describe("The strategy that made the list: the one asked for (or the experiment arm's), or popularity where it stood in for a list that could not be made"),
  fallback: z.boolean().describe('True when the personalised answer was not possible (unknown user or item, no model)'),
};

export const recommendationResponse = z
  .object({ ...envelope, items: z.array(z.object(itemFields).meta({ id: 'RecommendedItem' })), experiment: experimentTag.optional() })
  .meta({ id: 'Recommendation' });

export const boughtTogetherResponse = z
  .object({
    ...envelope,
    items: z.array(
      z
        .object({
          ...itemFields,
          support: z.number().describe('Orders containing both items; sessions in which both were viewed or carted add their weight (recipe eventWeights)'),
          confidence: z.number().describe('P(this item | the given item)'),
          lift: z.number().describe('How much more often than by chance they are bought together'),
        })
        .meta({ id: 'BoughtTogetherItem' }),
    ),
  })
  .meta({ id: 'BoughtTogether' });
