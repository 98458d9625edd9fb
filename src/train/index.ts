/**
 * Training: the loop, env pool, evaluation, callbacks, run folders and checkpoints.
 * Importing it registers the built-in agents and envs.
 */
import '../agents/builtin.js';
export * from './callbacks.js';
export * from './env-pool.js';
export * from './evaluate.js';
export * from './loop.js';
export * from './run.js';
export * from './state-file.js';
