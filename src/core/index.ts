/** `kairos/core`: seeded RNG, spaces and errors. */
export * from './errors.js';
export * from './rng.js';
export * from './spaces.js';
export * from './schedules.js';
