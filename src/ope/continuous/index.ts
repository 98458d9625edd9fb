/**
 * Continuous-action off-policy estimators: kernelized IPS, SNIPS and DR for deterministic
 * targets (Kallus & Zhou 2018), their kernels and data type, and a synthetic problem with an
 * exact value. Library API only: Kairos's decision log has no continuous actions. See docs/ope.md.
 */
export * from './types.js';
export * from './kernels.js';
export * from './kernelized.js';
export * from './synthetic.js';
