import { eventEntry } from '../recommenders/history.js';
import type { HistoryEntry, UserContext } from '../recommenders/recommender.js';
import type { EvaluationSplit } from './splits.js';

/**
 * Scoring contexts of some train users of a split, as the evaluation runner builds them: the full
 * train history in ts order, the user's attributes, and the split's reference time.
 */
export function userContextsOf(split: EvaluationSplit, users: Iterable<number>): Map<number, UserContext> {
  const ds = split.train;
  const histories = new Map<number, HistoryEntry[]>();
  for (const u of users) histories.set(u, []);
  for (let e = 0; e < ds.eventUser.length; e++) {
    const h = histories.get(ds.eventUser[e]);
    if (h) h.push(eventEntry(ds, e));
  }
  const out = new Map<number, UserContext>();
  for (const [u, history] of histories) out.set(u, { user: u, history, attributes: ds.userAttributes[u] ?? {}, now: ds.now });
  return out;
}
