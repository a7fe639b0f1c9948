import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests in layers: `npm run test:unit` (the portable core and the Node entry, seconds),
// `test:integration` (CLI, server, workers, crash safety, examples on real data),
// `test:reference` (real Annoy: golden files, the C++ binding, the reference driver; a real browser).
// `npm test` runs all three. In-process, `annoy-ts` resolves to the library's sources, so a test
// and the CLI/server code it drives share one copy of the library; child processes run the build.
const alias = { 'annoy-ts': fileURLToPath(new URL('./packages/annoy-ts/src/node/index.ts', import.meta.url)) };
const layer = (name: string) => ({
  extends: true as const,
  resolve: { alias },
  test: { name, include: [`test/${name}/**/*.test.ts`] },
});

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [layer('unit'), layer('integration'), layer('reference')],
  },
});
