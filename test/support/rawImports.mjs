// `node --import ./test/support/rawImports.mjs` (or NODE_OPTIONS): load `import text from './x.html?raw'` as the
// file's text, as tsup and vitest do, so the sources run under tsx (examples, the CLI from src/).
import { register } from 'node:module';

register('./rawImportsHooks.mjs', import.meta.url);
