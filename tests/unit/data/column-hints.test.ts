import { describe, expect, it } from 'vitest';
import { likelyColumn } from '../../../src/data/importers/column-hints.js';

const EVENTS = ['event_id', 'type', 'user_id', 'item_id', 'quantity', 'price', 'order_id', 'value', 'ts'];

describe('the column a misnamed header likely stands for', () => {
  it('When a name is a known one written otherwise, another export\'s name or a misspelt long name, Then it is that column', () => {
    expect(likelyColumn('User ID', EVENTS)).toBe('user_id');
    expect(likelyColumn('UnitPrice', EVENTS)).toBe('price');
    expect(likelyColumn('price_eur', EVENTS)).toBe('price');
    expect(likelyColumn('Qty', EVENTS)).toBe('quantity');
    expect(likelyColumn('timestamp', EVENTS)).toBe('ts');
    expect(likelyColumn('date', EVENTS)).toBe('ts');
    expect(likelyColumn('quantiy', EVENTS)).toBe('quantity');
    // Another format's spelling of a column (Online Retail's Quantity) takes the same other names.
    expect(likelyColumn('Qty', ['Quantity', 'CustomerID'])).toBe('Quantity');
    expect(likelyColumn('Customer', ['Quantity', 'CustomerID'])).toBe('CustomerID');
    // items.csv: two letters swapped in a name of five, a misspelt long one, another export's name.
    const ITEMS = ['title', 'description', 'categories', 'price', 'available'];
    expect(likelyColumn('titel', ITEMS)).toBe('title');
    expect(likelyColumn('catgories', ITEMS)).toBe('categories');
    expect(likelyColumn('unit_price', ITEMS)).toBe('price');
    expect(likelyColumn('Product Name', ITEMS)).toBe('title');
    // Another slip of a short name is no hint: a prize is no price.
    expect(likelyColumn('prize', ITEMS)).toBeUndefined();
    expect(likelyColumn('brand', ITEMS)).toBeUndefined();
  });

  it('When the column is already in the file, or the name only resembles a short one, Then there is no hint', () => {
    expect(likelyColumn('unit_price', EVENTS.filter((c) => c !== 'ts'))).toBe('price');
    expect(likelyColumn('unit_price', ['ts'])).toBeUndefined();
    expect(likelyColumn('tz', EVENTS)).toBeUndefined();
    expect(likelyColumn('tape', EVENTS)).toBeUndefined();
    expect(likelyColumn('note', EVENTS)).toBeUndefined();
    expect(likelyColumn('', EVENTS)).toBeUndefined();
  });
});
