import { describe, expect, it } from 'vitest';
import { INPUT_LIMITS, longerThan, textLength } from '../../../src/data/input-limits.js';
import { shortenTo } from '../../../src/data/importers/generic-importer.js';
import { id, text } from '../../../src/http/schemas/common.js';

/** Texts of one character under, at and over a limit, of one-unit and two-unit (astral: emoji, CJK extension B) characters, and mixed. */
const samples = (max: number) => [max - 1, max, max + 1].flatMap((n) => ['a'.repeat(n), '😀'.repeat(n), '𠀀'.repeat(n), `é${'😀'.repeat(n - 1)}`]);

describe('text lengths as the API and the importers count them', () => {
  it('When a text has astral characters, Then each counts once, as the API counts it', () => {
    expect(textLength('😀'.repeat(200))).toBe(200);
    expect(textLength('a😀b')).toBe(3);
    expect(longerThan('😀'.repeat(256), 256)).toBe(false);
    expect(longerThan('😀'.repeat(257), 256)).toBe(true);
  });

  it('When a text is at, under or over a limit, Then the API schema takes it exactly when the importers do', () => {
    for (const max of [INPUT_LIMITS.idLength, INPUT_LIMITS.categoryLength, 3]) {
      const schema = max === INPUT_LIMITS.idLength ? id : text(max);
      for (const s of samples(max)) expect(schema.safeParse(s).success, `${max}: ${s.length} units`).toBe(!longerThan(s, max));
    }
  });

  it('When a description of astral characters is cut, Then it keeps up to the limit in characters, never half a pair', () => {
    const cut = shortenTo('😀'.repeat(1500), 1000);
    expect(textLength(cut)).toBe(1000);
    expect(cut).toBe('😀'.repeat(1000));
    expect(shortenTo('😀'.repeat(1000), 1000)).toBe('😀'.repeat(1000));
    // At the last space in the final 200 characters.
    expect(shortenTo(`${'😀'.repeat(900)} ${'😀'.repeat(300)}`, 1000)).toBe('😀'.repeat(900));
    expect(shortenTo(`a😀${'b'.repeat(10)}`, 2)).toBe('a😀');
  });
});
