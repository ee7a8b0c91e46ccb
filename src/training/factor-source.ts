import { AppError } from '../errors.js';
import type { Recipe } from './recipe.js';

const invalid = (recipe: string, message: string, where = 'source') => new AppError('INVALID_RECIPE', `recipe "${recipe}": ${message}`, [{ path: where, message }]);

/**
 * The recipe source that imported factors replace: `requested`, else the recipe's only ALS source.
 * INVALID_RECIPE when there is none or when it is ambiguous.
 */
export function alsSourceOf(recipe: Recipe, requested?: string): string {
  const als = Object.entries(recipe.sources).filter(([, s]) => s.recommender === 'als').map(([name]) => name);
  if (requested !== undefined) {
    if (!als.includes(requested)) throw invalid(recipe.name, `"${requested}" is not an ALS source; ALS sources: ${als.join(', ') || '(none)'}`);
    return requested;
  }
  if (als.length === 0) throw invalid(recipe.name, 'no ALS source to take the imported factors', 'recipe');
  if (als.length > 1) throw invalid(recipe.name, `several ALS sources (${als.join(', ')}): name one as "source"`);
  return als[0];
}
