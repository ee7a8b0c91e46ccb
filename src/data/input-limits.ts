/**
 * The largest values the service stores, whichever way they come (the API's schemas, the importers):
 * what one path takes, the other must be able to read and write back.
 */
export const INPUT_LIMITS = {
  /** Ids of customers, items, events and orders. */
  idLength: 256,
  /** Units in one purchase. */
  quantity: 1_000_000,
  /** A unit price. */
  price: 1e9,
  titleLength: 1000,
  descriptionLength: 10_000,
  categoryLength: 200,
  categories: 100,
  /** A text attribute's value. */
  attributeLength: 1000,
  /** Attributes of one customer or item, and the length of an attribute's name. */
  attributes: 100,
  attributeNameLength: 128,
} as const;
