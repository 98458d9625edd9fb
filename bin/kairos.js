#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the "prepare" script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('kairos: the CLI is not built yet; run `npm run build` in the kairos package first');
  process.exit(1);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv);
