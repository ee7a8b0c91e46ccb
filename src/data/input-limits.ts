/**
 * The largest values the service stores, whichever way they come (the API's schemas, the importers):
 * what one path takes, the other must be able to read and write back. Text lengths are counted in
 * characters (Unicode code points, textLength), as the API's schemas count them (zod's string max; JSON
 * Schema's maxLength), not in JavaScript's UTF-16 units: an emoji is one character, not two.
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

/** The length of `text` in characters (code points): a surrogate pair counts once, a lone surrogate once. */
export function textLength(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    if ((text.charCodeAt(i) & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n--;
      i++;
    }
  }
  return n;
}

/** Whether `text` has more than `max` characters (textLength); counted only when its UTF-16 units are more. */
export const longerThan = (text: string, max: number): boolean => text.length > max && textLength(text) > max;

/**
 * The UTF-16 offset after the first `chars` characters of `text` (its length when it has no more), so a
 * text cut there holds at most `chars` characters and never half of a surrogate pair.
 */
export function offsetOfChar(text: string, chars: number): number {
  let i = 0;
  for (let n = 0; n < chars && i < text.length; n++) i += (text.charCodeAt(i) & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
  return i;
}
