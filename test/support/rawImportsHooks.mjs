// Module hooks for `?raw` imports (see rawImports.mjs).
import { readFile } from 'node:fs/promises';

export async function load(url, context, next) {
  const at = url.indexOf('?raw');
  if (!url.startsWith('file:') || at < 0) return next(url, context);
  const text = await readFile(new URL(url.slice(0, at)), 'utf8');
  return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
}
