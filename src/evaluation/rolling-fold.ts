import type { HybridConfig } from '../recommenders/hybrid.js';
import { recommenderFactory } from '../recommenders/registry.js';
import { createBlendCache, scoreBlend, scoreBlendRange, sourcePart, withParts, type BlendCache, type BlendPart, type BlendScores, type SourcePart } from './blend-cache.js';
import { makeSplit } from './run-evaluation.js';
import type { EvalMode, EvaluationSplit, SplitInput } from './splits.js';
import { objective } from './tune.js';

/** What defines one rolling-origin fold and how its blends are scored. */
export interface FoldSpec {
  /** Exclusive end of the fold's validation window (ISO). */
  end: string;
  days: number;
  k: number;
  fullHistoryOrders: number;
  /** Items kept per source and validation user. */
  depth: number;
  /** The recipe hybrid's discountShare (default: the hybrid's default). */
  discountShare?: number;
  /** The share of the shop's customers the input holds when it is a sample of them (default 1); see createBlendCache. */
  customerShare?: number;
}

/** A fold's split, as the tuner reports it. */
export interface FoldInfo {
  start: number;
  end: number;
  trainEvents: number;
  /** Validation customers (who bought anything in the window, repurchases included). */
  users: number;
  /** Of them, those who bought something they had not bought before the window (the novel lists' customers). */
  novelUsers: number;
}

/** A blend to score on a fold. */
export type FoldBlend = Pick<HybridConfig, 'weights' | 'repeatWeights'> & { popularityDiscount?: number; modes?: readonly EvalMode[] };

/**
 * One rolling-origin fold: its split and blend cache, the source candidates fitted on it and the
 * blends scored on it. Everything a fold does depends only on its own split and the requests it gets
 * in order, so a fold gives the same numbers in this thread or in a worker thread (fold-worker.ts).
 */
export class RollingFold {
  /** The fold's split: train before the validation window, test inside it. */
  readonly split: EvaluationSplit;
  readonly cache: BlendCache;
  /** Parts of the candidates fitted for the source being tuned, by candidate index, until one is kept. */
  private readonly candidates = new Map<string, SourcePart[]>();

  constructor(
    input: SplitInput,
    private readonly spec: FoldSpec,
  ) {
    this.split = makeSplit(input, { kind: 'validation', days: spec.days, end: spec.end });
    this.cache = createBlendCache(this.split, spec.discountShare, spec.customerShare);
  }

  info(): FoldInfo {
    const novelUsers = this.cache.relevant.novel.reduce((n, r) => n + (r && r.size > 0 ? 1 : 0), 0);
    return { start: this.split.cutoff!, end: this.split.testEnd!, trainEvents: this.split.train.eventUser.length, users: this.cache.users.length, novelUsers };
  }

  /** Fits source `name` with candidate hyperparameters (recipe JSON) and returns the objective of that source alone. */
  fit(name: string, recommender: string, candidate: Record<string, unknown>, index: number): number {
    const factory = recommenderFactory(recommender)!;
    const part = sourcePart(this.cache, this.split, factory.fit(this.split.train, factory.parseParams(candidate)), this.spec.depth);
    this.install(name, index, part);
    // Scored alone on a view of the cache holding only this part: the lists are those of the full blend
    // with weight on this source only, and the fold's blend matrix is not rebuilt. Blends go on scoring
    // the part kept before (if any) until keep() says which candidate stays, so a fold's blends do not
    // depend on which candidates were fitted on this copy of it.
    const view = withParts(this.cache, new Map([[name, part]]));
    const blend = { weights: { cold: { [name]: 1 }, warm: { [name]: 1 } }, fullHistoryOrders: this.spec.fullHistoryOrders };
    return objective(scoreBlend(view, blend, this.spec.k));
  }

  /** The part candidate `index` of source `name` gave on this fold (to install it in a copy of the fold elsewhere). */
  candidatePart(name: string, index: number): SourcePart {
    const part = this.candidates.get(name)?.[index];
    if (!part) throw new Error(`fold has no candidate ${index} of ${name}`);
    return part;
  }

  /** Adds a candidate part fitted on a copy of this fold (the same split) as if fit() had made it here. */
  install(name: string, index: number, part: SourcePart): void {
    const parts = this.candidates.get(name) ?? [];
    parts[index] = part;
    this.candidates.set(name, parts);
  }

  /** Keeps candidate `index` of source `name` in the blend and drops the others. */
  keep(name: string, index: number): void {
    this.cache.parts.set(name, this.candidates.get(name)![index]);
    this.candidates.delete(name);
    // Tuning asks for every fit before the first keep, so the validation contexts are done with (a fit
    // after this would build them again).
    this.cache.contexts = undefined;
  }

  score(blend: FoldBlend): BlendScores {
    return scoreBlend(this.cache, { ...blend, fullHistoryOrders: this.spec.fullHistoryOrders }, this.spec.k);
  }

  /** score()'s measures of the validation users in [from, to) of cache.users, to be merged with the rest (mergeBlendParts). */
  scoreRange(blend: FoldBlend, from: number, to: number): BlendPart {
    return scoreBlendRange(this.cache, { ...blend, fullHistoryOrders: this.spec.fullHistoryOrders }, this.spec.k, from, to);
  }
}
