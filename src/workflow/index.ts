/** `kairos/workflow`: the end-to-end loops built from the other parts (the quickstart). */
export * from './quickstart.js';
