import type { z } from 'zod';
import { AppError } from '../errors.js';

/**
 * Validates a recommender's raw hyperparameters (from a recipe) against its zod schema, filling
 * defaults. A bad value throws INVALID_RECIPE naming the recommender and the offending field, e.g.
 * `als.factors: Too small: expected number to be >=1`, so the data team can fix the recipe.
 */
export function parseParams<S extends z.ZodType>(recommender: string, schema: S, raw: unknown): z.output<S> {
  const result = schema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = [recommender, ...issue.path.map(String), ...keys].join('.');
    return `${path}: ${issue.message}`;
  });
  throw new AppError('INVALID_RECIPE', details[0], details);
}
