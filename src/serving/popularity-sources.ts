/**
 * Which of a model's sources are popularity lists, and which of those are trends. A recipe names its
 * sources freely and gives each its family (`recommender`); a trend is no family of its own but a
 * popularity source that forgets faster (the default recipe's `trend`: popularity with a 10-day half-life
 * beside a 60-day one). Neither is personal: popularity is explained "popular in France" / "popular
 * overall", a trend "trending now", whatever the recipe calls them.
 */
import { isPopularityRecommender, popularityFactory, type PopularityRecommender } from '../recommenders/popularity.js';
import type { Recommender } from '../recommenders/recommender.js';
import type { ServingModelInfo } from './serving-artifacts.js';

/** The default recipe's names of its popularity source and its trend. */
const POPULARITY = 'popularity';
const TREND = 'trend';

export interface PopularitySources {
  /** The source of the version's popular table (segment lists, popular backfill); undefined: none. */
  table: string | undefined;
  /** Popularity-family sources that are not trends, in recipe order. */
  popular: string[];
  /** Popularity-family sources that are trends, in recipe order. */
  trends: string[];
}

/** Whether a half-life of `a` days forgets faster than one of `b` (null: never forgets). */
const forgetsFaster = (a: number | null, b: number | null) => a !== null && (b === null || a < b);

/**
 * The popularity sources of fitted `sources`. The table's source is the one named `popularity`, else the
 * one forgetting slowest (the first on ties) of those not named `trend`. A trend is one named `trend`, or
 * one forgetting faster than the table's source. A recipe's only popularity source is its table's
 * (unless named `trend`): alone, nothing tells it is recent rather than popular.
 */
export function popularitySources(sources: ReadonlyMap<string, Recommender>): PopularitySources {
  const all = [...sources].filter((e): e is [string, PopularityRecommender] => isPopularityRecommender(e[1]));
  const halfLife = (e: [string, PopularityRecommender]) => e[1].params.halfLifeDays;
  const base =
    all.find(([name]) => name === POPULARITY) ??
    all.filter(([name]) => name !== TREND).reduce<[string, PopularityRecommender] | undefined>((best, e) => (!best || forgetsFaster(halfLife(best), halfLife(e)) ? e : best), undefined);
  const isTrend = (e: [string, PopularityRecommender]) => e[0] === TREND || (base !== undefined && forgetsFaster(halfLife(e), halfLife(base)));
  return { table: base?.[0], popular: all.filter((e) => !isTrend(e)).map(([name]) => name), trends: all.filter(isTrend).map(([name]) => name) };
}

/**
 * Whether `source` of a model is a popularity list ('popular'), a trend, or neither (undefined): by the
 * model's `popularitySources` and `trendSources`, or for a model trained before it kept them, a source
 * named `trend` is a trend and any other of the popularity `family` (as its recipe says) is popular.
 */
export function popularityKind(info: Pick<ServingModelInfo, 'popularitySources' | 'trendSources'>, source: string, family: string): 'popular' | 'trend' | undefined {
  const { popularitySources: popular, trendSources: trends } = info;
  if (popular && trends) return trends.includes(source) ? 'trend' : popular.includes(source) ? 'popular' : undefined;
  if (source === TREND) return 'trend';
  return family === popularityFactory.name ? 'popular' : undefined;
}
