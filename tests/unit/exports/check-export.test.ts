import { describe, expect, it } from 'vitest';
import { checkExport } from '../../../src/exports/check-export.js';
import { exportRequest } from '../../../src/exports/export-request.js';
import type { ServingModel } from '../../../src/serving/serving-model.js';

describe('an audience export of a category', () => {
  const model = {
    info: { strategies: ['hybrid'] },
    items: { index: new Map([['mug', 0], ['pan', 1]]), categories: [['Kitchen/Tableware/Mugs'], ['Kitchen > Pans']] },
  } as unknown as ServingModel;
  const check = (category: string) => checkExport(async () => model, exportRequest.parse({ kind: 'audience', category }));

  it('When the category is a level above the items, in any case, Then it is accepted as the audience route accepts it', async () => {
    await expect(check('Kitchen')).resolves.toBeUndefined();
    await expect(check('kitchen/tableware')).resolves.toBeUndefined();
  });

  it('When no item lies in or below the category, Then it is refused before any job, naming it', async () => {
    await expect(check('Kitch')).rejects.toThrow('no item of the active model is in category "Kitch"');
    await expect(check('Garden')).rejects.toMatchObject({ code: 'UNPROCESSABLE' });
  });
});
