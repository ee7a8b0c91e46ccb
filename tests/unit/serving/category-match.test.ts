import { describe, expect, it } from 'vitest';
import { categoryKey, categoryMatcher, forgetCategoryMasks, itemsInCategory } from '../../../src/serving/category-match.js';
import { itemFilter } from '../../../src/serving/picker.js';
import type { ServingModel } from '../../../src/serving/serving-model.js';

describe('category filters', () => {
  it('When a category page asks for its level, Then items in it or below it match, whatever the case and the separator', () => {
    const kitchen = categoryMatcher('Kitchen');
    for (const c of ['Kitchen', 'kitchen', ' KITCHEN ', 'Kitchen/Tableware/Mugs', 'Kitchen > Tableware', 'kitchen>mugs', 'Kitchen / Mugs']) expect(kitchen(c), c).toBe(true);
    // A prefix that stops inside a name, a name that only contains it, or the same name lower in another path.
    for (const c of ['Kitchenware', 'Kitch', 'Home/Kitchen', 'Home > Kitchen > Mugs', '']) expect(kitchen(c), c).toBe(false);
    expect(categoryMatcher('Food & Drink')('Food & Drink/Tea/Green Tea')).toBe(true);
    expect(categoryMatcher('Food')('Food & Drink/Tea/Green Tea')).toBe(false);
    // A deeper filter, written with the other separator or a trailing one.
    expect(categoryMatcher('kitchen/tableware')('Kitchen > Tableware > Mugs')).toBe(true);
    expect(categoryMatcher('Kitchen > Tableware/')('Kitchen/Tableware')).toBe(true);
    expect(categoryMatcher('Kitchen/Tableware')('Kitchen/Cutlery')).toBe(false);
    expect(categoryMatcher('Kitchen/Tableware')('Kitchen')).toBe(false);
    // Nothing to match: no item.
    expect(categoryMatcher('')('Kitchen')).toBe(false);
    expect(categoryMatcher(' / ')('Kitchen')).toBe(false);
    expect(categoryKey('Home & Garden > Kitchen & Dining ')).toBe('home & garden/kitchen & dining');
  });

  it('When items are filtered by a parent category, Then the mask holds exactly the items below it, and a recategorised catalogue is asked again once forgotten', () => {
    const categories = [['Kitchen/Mugs'], ['Garden/Pots', 'Kitchen > Herbs'], ['Kitchenware'], [], ['garden']];
    expect([...itemsInCategory(categories, 'kitchen')]).toEqual([1, 1, 0, 0, 0]);
    expect([...itemsInCategory(categories, 'Garden')]).toEqual([0, 1, 0, 0, 1]);
    // Kept per catalogue: a change in place is seen only once the masks are forgotten (catalog-overlay.ts does).
    categories[2] = ['Kitchen/Knives'];
    expect([...itemsInCategory(categories, 'Kitchen')]).toEqual([1, 1, 0, 0, 0]);
    forgetCategoryMasks(categories);
    expect([...itemsInCategory(categories, 'Kitchen')]).toEqual([1, 1, 1, 0, 0]);
  });

  it('When a list is filtered by category, Then the filter keeps available items below it and nothing else', () => {
    const ids = ['mug', 'pot', 'knife', 'gone'];
    const items = {
      ids,
      index: new Map(ids.map((id, i) => [id, i])),
      available: Uint8Array.from([1, 1, 1, 0]),
      price: Float64Array.from([5, 9, 20, 3]),
      categories: [['Kitchen/Tableware/Mugs'], ['Garden/Pots'], ['Kitchen > Knives'], ['Kitchen/Tableware']],
    };
    const model = { items } as unknown as ServingModel;
    const keeps = (q: Parameters<typeof itemFilter>[1]) => ids.filter((_, i) => itemFilter(model, q)(i));
    expect(keeps({ k: 10, category: 'Kitchen' })).toEqual(['mug', 'knife']);
    expect(keeps({ k: 10, category: 'kitchen/tableware' })).toEqual(['mug']);
    expect(keeps({ k: 10, category: 'Kitchen', maxPrice: 10 })).toEqual(['mug']);
    expect(keeps({ k: 10, category: 'Tableware' })).toEqual([]);
  });
});
