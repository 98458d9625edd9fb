/**
 * Registers every env that ships with Kairos. Imported for its side effect by
 * `kairos/envs`, so `make('CartPole-v1')` works after importing the envs entry point.
 */
import { box2dRegistrations } from './box2d/index.js';
import { classicControlRegistrations } from './classic/index.js';
import { register } from './registry.js';
import { actionSequenceRegistration } from './sims/action-sequence.js';
import { simRegistrations } from './sims/index.js';

for (const reg of [...classicControlRegistrations, ...box2dRegistrations]) register(reg);
register(actionSequenceRegistration);
for (const reg of simRegistrations) register(reg);
