/**
 * What a `category` filter matches. Shops store categories as paths (`Kitchen/Tableware/Mugs`, Google's
 * `Home & Garden > Kitchen & Dining`) and a category page asks for its own level: `category=Kitchen` is
 * every item with a category that is `Kitchen` or lies below it. Case and the spaces around a separator
 * do not matter; a prefix that stops inside a name (`Kitch`, `Food` of `Food & Drink`) matches nothing.
 */

/** Separators of levels in a category path. */
const SEPARATOR = /[/>]/;

/**
 * A category or filter in one spelling: lower case, levels joined by '/', no spaces around them, no '/'
 * at the end. Split and trimmed rather than replaced with /\s*[/>]\s*\/g and /\/+$/: those try every start
 * in a run of spaces or slashes, quadratic in its length (an item's category may be 1,000 characters).
 */
export function categoryKey(category: string): string {
  const key = category.toLowerCase().split(SEPARATOR).map((level) => level.trim()).join('/');
  let end = key.length;
  while (end > 0 && key.charCodeAt(end - 1) === 47 /* '/' */) end--;
  return key.slice(0, end);
}

/** Whether `category` (an item's) is the asked one or lies below it. */
export function categoryMatcher(asked: string): (category: string) => boolean {
  const key = categoryKey(asked);
  if (key === '') return () => false;
  return (category) => {
    const c = categoryKey(category);
    return c === key || (c.startsWith(key) && c[key.length] === '/');
  };
}

/** Masks kept per catalogue: a shop's pages ask a few categories, over and over. */
const MASKS_KEPT = 256;
const masks = new WeakMap<readonly (readonly string[])[], Map<string, Uint8Array>>();

/**
 * 1 for each item (index into `categories`) with a category the filter matches, computed once per
 * catalogue and filter (a catalogue's array is its identity: a new model version has a new one; one
 * changed in place is announced with forgetCategoryMasks).
 */
export function itemsInCategory(categories: readonly (readonly string[])[], asked: string): Uint8Array {
  let kept = masks.get(categories);
  if (!kept) masks.set(categories, (kept = new Map()));
  const key = categoryKey(asked);
  let mask = kept.get(key);
  if (!mask) {
    const matcher = categoryMatcher(asked);
    // Items share their category strings: each is judged once.
    const judged = new Map<string, boolean>();
    const matches = (c: string) => {
      let yes = judged.get(c);
      if (yes === undefined) judged.set(c, (yes = matcher(c)));
      return yes;
    };
    mask = new Uint8Array(categories.length);
    for (let i = 0; i < categories.length; i++) if (categories[i].some(matches)) mask[i] = 1;
    // Filters come from query strings: bounded, the oldest out.
    if (kept.size >= MASKS_KEPT) kept.delete(kept.keys().next().value!);
    kept.set(key, mask);
  }
  return mask;
}

/** Drops the masks of a catalogue whose categories were changed in place (catalog-overlay.ts). */
export function forgetCategoryMasks(categories: readonly (readonly string[])[]): void {
  masks.delete(categories);
}
