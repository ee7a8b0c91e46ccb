import { INPUT_LIMITS } from '../../data/input-limits.js';
import { z } from 'zod';
import { attributes, id, price, text } from './common.js';

const itemFields = {
  title: text(INPUT_LIMITS.titleLength).default(''),
  description: text(INPUT_LIMITS.descriptionLength).nullable().optional(),
  categories: z.array(text(INPUT_LIMITS.categoryLength).min(1)).max(INPUT_LIMITS.categories).default([]),
  price: price.nullable().optional(),
  attributes: attributes.default({}),
  available: z.boolean().default(true),
};

export const itemBody = z.strictObject(itemFields);
export const itemBatchBody = z.strictObject({
  items: z.array(z.strictObject({ id, ...itemFields })).min(1),
});

export const itemResponse = z
  .object({
    id: z.string(),
    title: z.string(),
    description: z.string().nullable(),
    categories: z.array(z.string()),
    price: z.number().nullable(),
    attributes: z.record(z.string(), z.unknown()),
    available: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Item' });

export const upsertResult = z.object({ created: z.number().int(), updated: z.number().int() });

export const userBody = z.strictObject({ attributes: attributes.default({}) });

export const userResponse = z
  .object({
    id: z.string(),
    attributes: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'User' });
