import { defineConfig } from 'vitest/config';

// Training tests are CPU-bound wasm work: two forks match CI's two cores, and
// generous timeouts keep slow machines from failing on time rather than behaviour.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 300_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
