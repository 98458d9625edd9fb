/**
 * Slate (ranking) off-policy estimators: SIPS, IIPS, RIPS (and their self-normalised forms)
 * and Cascade-DR, on a {@link SlateDataset}; helpers to get target probabilities from a
 * `SlatePolicy`. Library API only: Kairos's decision log has no slates. See docs/ope.md.
 */
export * from './types.js';
export * from './estimator.js';
export * from './standard-ips.js';
export * from './independent-ips.js';
export * from './reward-interaction-ips.js';
export * from './cascade-dr.js';
export * from './policy.js';
