/**
 * Model-only estimate for episodes (the "approximate model" AM estimator of Thomas &
 * Brunskill 2016, section 5, a.k.a. the direct method): the mean over episodes of
 * V̂(s_{i,0}) = Σ_a π(a|s_{i,0}) Q̂(s_{i,0}, a).
 *
 * Unbiased when Q̂ is the true Q^π at the initial states; otherwise biased by the model's error.
 * It is MAGIC's j = −1 return. The standard error covers only the sampling of initial states.
 *
 * @example
 * sequentialDirectMethod().estimate(episodes, fitFqe(episodes));
 */
import { allocColumn, meanTerms } from '../estimate.js';
import { defineSequentialEstimator, type SequentialEstimator } from './estimator.js';

/** Creates the model-only (direct method) estimator for episodes (needs a Q model). */
export function sequentialDirectMethod(): SequentialEstimator {
  return defineSequentialEstimator({
    name: 'dm',
    requiresQModel: true,
    terms(data, qHat) {
      const k = data.numActions;
      const col = allocColumn(data.numEpisodes);
      for (let e = 0; e < data.numEpisodes; e++) {
        const t = data.episodeStarts[e];
        let v = 0;
        for (let a = 0; a < k; a++) v += data.targetProbs[t * k + a] * qHat![t * k + a];
        col[e] = v;
      }
      return meanTerms('episode', col);
    },
  });
}
