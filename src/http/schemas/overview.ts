import { z } from 'zod';
import { id, keysetPagingOf, keysetQuery, nextPageCursor, once } from './common.js';

export const overviewResponse = z
  .object({
    counts: z.object({
      items: z.number().int().describe('Catalogue items'),
      customers: z.number().int().describe('Customers (users with purchases, feedback or attributes)'),
      purchases: z.number().int().describe('Purchase events'),
      orders: z.number().int().describe('Distinct order ids (purchases sent without one are in no order)'),
      feedback: z.number().int().describe('Feedback events'),
      firstPurchase: z.string().nullable(),
      lastPurchase: z.string().nullable(),
      countedAt: z.string().describe('When the count these numbers come from began: they are kept in the process, counted again once older than OVERVIEW_COUNTS_MAX_AGE_MS (a call waits half a second for that count, else gets these while it runs)'),
      ageSeconds: z.number().int().describe('Seconds since countedAt'),
    }),
    model: z
      .object({
        version: z.string(),
        recipe: z.string().describe('The name the recipe gives itself, as evaluation rows name it'),
        recipeFile: z.string().optional().describe('The recipe file it was trained from (models/RECIPEFILE.json), what trainings and evaluations name; absent for versions trained before it was recorded'),
        trainedAt: z.string(),
        ageSeconds: z.number().int().describe('Seconds since it was trained'),
        strategies: z.array(z.string()).describe('Strategies it answers: `hybrid` and its recommenders'),
      })
      .nullable()
      .describe('The version this process serves (its answers carry it, from memory when the store lost it); null before the first training (details and step durations: GET /v1/models)'),
    activeInStore: z
      .string()
      .nullable()
      .optional()
      .describe("Only when the model store's active version is not the served one: the version it names (being loaded here), or null (the store lost its models, e.g. a Redis restarted empty, while this process serves from memory)"),
  })
  .meta({ id: 'Overview' });

export const customerSearchQuery = keysetQuery({
  q: once(id).optional().describe('Id prefix, case-insensitive; every customer when absent'),
  sort: once(z.enum(['id', 'spend', 'recent']).default('id')).describe('`id`, `spend` (highest first) or `recent` (latest purchase first); a `cursor` pages the order it came from'),
  ...keysetPagingOf(20, 100),
});

export const customerSearchResponse = z
  .object({
    customers: z.array(
      z.object({
        id: z.string(),
        purchases: z.number().int(),
        orders: z.number().int().describe("Orders as the profile's frequency counts them: distinct order ids, and each purchase time of purchases sent without one"),
        spend: z.number().describe('Sum of quantity x unit price (the catalogue price when a purchase carries none), to the cent, as the profile\'s monetary'),
        lastPurchase: z.string().nullable(),
      }),
    ),
    limit: z.number().int(),
    offset: z.number().int(),
    nextCursor: nextPageCursor.describe(
      'Pass as `cursor` (with the same `q` and `sort`) for the next page; null on the last. By spend or recency, the pages after the first count the purchases stored by the time the first was read, so a customer buying meanwhile neither moves nor is listed twice',
    ),
  })
  .meta({ id: 'CustomerSearch' });
