import { INPUT_LIMITS } from '../../data/input-limits.js';
import { z } from 'zod';
import { attributes, id, price, text } from './common.js';

const ITEM_GROUP_ID =
  "The product group (style) whose sizes and colours are separate items, as a product feed's `item_group_id`: every served list keeps " +
  "one product of a group (its best-ranked) and fills the freed places further down its ranking, and a product's similar and " +
  'bought-together lists leave out its own group. Null or absent: the item is a group of its own.';

/** A product group id: an id as the shop knows it (1..256 characters, no NUL), without white space at its ends (the importers trim it). */
const groupId = id
  .refine((s) => s.trim() === s, 'must not begin or end with white space (the importers trim it)')
  .meta({ description: `${ITEM_GROUP_ID} An id like the item's own: 1..256 characters, no NUL, no white space at its ends (400 VALIDATION_FAILED naming the field).` });

const itemFields = {
  title: text(INPUT_LIMITS.titleLength).default(''),
  description: text(INPUT_LIMITS.descriptionLength).nullable().optional(),
  categories: z.array(text(INPUT_LIMITS.categoryLength).min(1)).max(INPUT_LIMITS.categories).default([]),
  price: price.nullable().optional(),
  attributes: attributes.default({}),
  available: z.boolean().default(true),
  itemGroupId: groupId.nullable().default(null),
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
    itemGroupId: z.string().nullable().meta({ description: ITEM_GROUP_ID }),
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
