import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    'otel/index': 'src/otel/index.ts',
    'postgres/index': 'src/stores/postgres/index.ts',
    'redis/index': 'src/stores/redis/index.ts',
    'bullmq/index': 'src/bullmq/index.ts',
    'http/index': 'src/http/index.ts',
    cli: 'src/cli.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
});
