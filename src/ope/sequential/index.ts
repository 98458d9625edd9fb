/** Sequential (episodic) OPE estimators and FQE. */
export * from './estimator.js';
export * from './importance-sampling.js';
export * from './doubly-robust.js';
export * from './weighted-doubly-robust.js';
export * from './direct-method.js';
export * from './magic.js';
export * from './fqe.js';
export * from './neural-fqe.js';
