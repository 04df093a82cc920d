import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
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

const entry = {
  index: 'src/index.ts',
  'testing/index': 'src/testing/index.ts',
  'otel/index': 'src/otel/index.ts',
  'postgres/index': 'src/stores/postgres/index.ts',
  'redis/index': 'src/stores/redis/index.ts',
  'bullmq/index': 'src/bullmq/index.ts',
  'http/index': 'src/http/index.ts',
  cli: 'src/cli.ts',
};

/**
 * Declarations in one `tsc --emitDeclarationOnly` pass (tsup's `dts` builds them once per entry and format, ~4×
 * slower): the tree goes to dist/types as .d.ts, a copy with `.cjs` specifiers as .d.cts for `require` users, and
 * each entry of the exports map gets a two-line stub re-exporting its module.
 */
function declarations(): void {
  execFileSync(process.execPath, [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
  for (const file of walk('dist/types').filter((f) => f.endsWith('.d.ts'))) {
    const cjs = readFileSync(file, 'utf8').replace(/((?:from |import\()\s*['"]\.{1,2}\/[^'"]*)\.js(['"])/g, '$1.cjs$2');
    writeFileSync(file.replace(/\.d\.ts$/, '.d.cts'), cjs);
  }
  for (const [out, src] of Object.entries(entry)) {
    if (out === 'cli') continue;
    const target = relative(dirname(join('dist', out)), join('dist/types', src.replace(/^src\//, '').replace(/\.ts$/, '')));
    const spec = target.startsWith('.') ? target : `./${target}`;
    mkdirSync(dirname(join('dist', out)), { recursive: true });
    writeFileSync(join('dist', `${out}.d.ts`), `export * from '${spec}.js';\n`);
    writeFileSync(join('dist', `${out}.d.cts`), `export * from '${spec}.cjs';\n`);
  }
}

export default defineConfig({
  entry,
  format: ['esm', 'cjs'],
  dts: false,
  clean: true,
  sourcemap: true,
  target: 'node20',
  esbuildPlugins: [raw],
  onSuccess: async () => declarations(),
});
