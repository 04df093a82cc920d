import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`./src/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^sluice$/, replacement: src('index.ts') },
      { find: /^sluice\/(postgres|redis)$/, replacement: src('stores/$1/index.ts') },
      { find: /^sluice\/bullmq$/, replacement: src('bullmq/index.ts') },
      { find: /^sluice\/http$/, replacement: src('http/index.ts') },
      { find: /^sluice\/(.*)$/, replacement: src('$1/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'marbles/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
    testTimeout: 20_000,
    // Vitest blanks CSS imports unless told; the inspector imports its stylesheet as text (`inspector.css?raw`).
    css: { include: [/src\/http\/inspector\/.*\.css/] },
    // Starts redis-server and PostgreSQL on loopback when the server-store tests need them.
    globalSetup: ['./test/support/globalSetup.ts'],
  },
});
