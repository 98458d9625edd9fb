import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Lets the FMA tests run on Node 20 (relaxed SIMD is on by default from Node 22).
    execArgv: ['--experimental-wasm-relaxed-simd'],
  },
});
