/**
 * `kairos/data`: the logged-decision schema and its DuckDB store, importers and exporters
 * (CSV, Parquet, JSON lines) with row-level validation, the timeline SQL (training
 * transitions and feature statistics), readers from a stored log to the OPE estimators'
 * inputs, and `evaluateLog` behind `kairos ope`. See docs/data.md.
 */
export * from './engine.js';
export * from './schema.js';
export * from './store.js';
export * from './writer.js';
export * from './validate.js';
export * from './import-export.js';
export * from './timeline-sql.js';
export * from './timeline.js';
export * from './target-policy.js';
export * from './ope-data.js';
export * from './evaluate.js';
export * from './report-index.js';
export * from './report-chart.js';
export * from './simulate.js';
