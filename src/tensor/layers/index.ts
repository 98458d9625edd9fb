/** Layers and networks: parameter sets, Dense, Mlp. */
export * from './params.js';
export * from './dense.js';
export * from './mlp.js';
