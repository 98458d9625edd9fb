/** Layers and networks: parameter sets, Dense, Mlp, Lstm. */
export * from './params.js';
export * from './dense.js';
export * from './mlp.js';
export * from './lstm.js';
