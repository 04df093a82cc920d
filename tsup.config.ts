import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { defineConfig } from 'tsup';
import type { Plugin } from 'esbuild';

/** `import text from './file?raw'` inlines the file's text (the inspector's HTML, CSS and JS), as vitest does. */
const raw: Plugin = {
  name: 'raw',
  setup(build) {
    // The path keeps its `?raw` so tsup's own `.css` loader does not claim the file.
    build.onResolve({ filter: /\?raw$/ }, (args) => ({ path: resolve(args.resolveDir, args.path), namespace: 'raw' }));
    build.onLoad({ filter: /\?raw$/, namespace: 'raw' }, async (args) => ({
      contents: await readFile(args.path.slice(0, -'?raw'.length), 'utf8'),
      loader: 'text',
    }));
  },
};

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
  esbuildPlugins: [raw],
});
