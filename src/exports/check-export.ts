import { AppError, notInModel } from '../errors.js';
import { itemsInCategory } from '../serving/category-match.js';
import type { ServingModel } from '../serving/serving-model.js';
import type { ExportRequest } from './export-request.js';
import type { ProfileService } from '../profiles/profile-service.js';

const unprocessable = (field: string, message: string) => new AppError('UNPROCESSABLE', message, [{ path: field, message }]);

/**
 * An export request against the served model, before a job is queued for it: a model must be active,
 * offer the strategy, and know the items (or have some in the category); a segment or lifecycle filter
 * needs customer profiles (`profiles`, the profile service's userIdsIn), as POST /v1/audiences does.
 */
export async function checkExport(
  model: () => Promise<ServingModel | null>,
  req: ExportRequest,
  profiles?: Pick<ProfileService, 'userIdsIn'>,
): Promise<void> {
  const m = await model();
  if (!m) throw unprocessable('kind', 'no model is active yet: train one first (POST /v1/training-jobs)');
  if (req.strategy !== undefined && !m.info.strategies.includes(req.strategy)) {
    throw unprocessable('strategy', `the active model offers ${m.info.strategies.join(', ')}`);
  }
  for (const id of req.itemIds ?? []) if (!m.items.index.has(id)) throw notInModel(id);
  if (req.category !== undefined && !itemsInCategory(m.items.categories, req.category).includes(1)) {
    throw unprocessable('category', `no item of the active model is in category "${req.category}"`);
  }
  for (const [dimension, name] of [['segment', req.segment], ['lifecycle', req.lifecycle]] as const) {
    if (name !== undefined && profiles && (await profiles.userIdsIn(dimension, name)) === null) {
      throw unprocessable(dimension, 'the active model has no customer profiles to filter by');
    }
  }
}
