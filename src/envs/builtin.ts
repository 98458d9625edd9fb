/**
 * Registers every env that ships with Kairos. Imported for its side effect by
 * `kairos/envs`, so `make('CartPole-v1')` works after importing the envs entry point.
 */
import { box2dRegistrations } from './box2d/index.js';
import { classicControlRegistrations } from './classic/index.js';
import { register } from './registry.js';

for (const reg of [...classicControlRegistrations, ...box2dRegistrations]) register(reg);
