import { z } from 'zod';
import { attributes, id, price } from './common.js';

const itemFields = {
  title: z.string().max(1000).default(''),
  description: z.string().max(10_000).nullable().optional(),
  categories: z.array(z.string().min(1).max(200)).max(100).default([]),
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
