/**
 * Text to terms for content features. Product titles are short ("SET OF 6 SPICE TINS PANTRY DESIGN"),
 * so the rules are deliberately simple: lowercase, split on anything that is not a letter or digit,
 * drop stop words, one-letter tokens and pure numbers ("6", "2010" say nothing about the product).
 */

/** English function words; they carry no product meaning in titles ("bag with handles", "box of tins"). */
const STOP_WORDS = new Set(
  (
    'a an and are as at be but by for from has have in into is it its of on or so than that the their then ' +
    'there these they this to was were will with without you your our we i me my not no nor too very can ' +
    'do does did just over under up down out off all any each more most other some such only own same'
  ).split(' '),
);

const SPLIT = /[^\p{L}\p{N}]+/u;
const NUMERIC = /^\p{N}+$/u;

/** Lowercased content terms of `text` in order of appearance (duplicates kept: they are term frequency). */
export function tokenize(text: string | null | undefined): string[] {
  if (!text) return [];
  const out: string[] = [];
  for (const raw of text.toLowerCase().split(SPLIT)) {
    if (raw.length < 2 || NUMERIC.test(raw) || STOP_WORDS.has(raw)) continue;
    out.push(raw);
  }
  return out;
}

/**
 * Adjacent pairs of `tokens` joined by a space. Pairs are formed after stop-word removal, so
 * "set of tins" yields "set tins": close enough for titles, and it keeps the vocabulary small.
 */
export function bigrams(tokens: string[]): string[] {
  const out: string[] = [];
  for (let t = 1; t < tokens.length; t++) out.push(`${tokens[t - 1]} ${tokens[t]}`);
  return out;
}
