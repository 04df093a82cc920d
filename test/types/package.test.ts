// The built declarations resolve through the exports map for ESM (`.d.ts`) and CommonJS (`.d.cts`) consumers.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const built = existsSync(join(root, 'dist', 'types', 'index.d.ts'));
if (!built) console.warn('skipping test/types/package.test.ts: run npm run build');

const uses = `
const wf = workflow('typed', { input: z.object({ n: z.number() }), result: z.number() })
  .step('double', { accepts: [StartEvent] }, (ev) => StopEvent.of({ result: ev.data.n * 2 }));
const doubled: Promise<number> = wf.run({ n: 2 }).result;
const isError: boolean = WorkflowError.is(new NonRetryableError('no'));
const app: SluiceApp = createSluiceApp({ workflows: [wf] });
const store: CheckpointStore = new PostgresStore({ connectionString: 'postgres://x' });
export { doubled, isError, app, store, virtualTime, RedisStore, traceRun, Dispatcher };
`;
const imports = (style: 'esm' | 'cjs') => {
  const from = (m: string, names: string) =>
    style === 'esm' ? `import { ${names} } from '${m}';` : `import { ${names} } from '${m}';`;
  return [
    from('zod', 'z'),
    from('sluice', 'workflow, StartEvent, StopEvent, WorkflowError, NonRetryableError, type CheckpointStore'),
    from('sluice/http', 'createSluiceApp, type SluiceApp'),
    from('sluice/postgres', 'PostgresStore'),
    from('sluice/redis', 'RedisStore'),
    from('sluice/otel', 'traceRun'),
    from('sluice/bullmq', 'Dispatcher'),
    from('sluice/testing', 'virtualTime'),
  ].join('\n');
};

let dir: string | undefined;
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('the published declarations', () => {
  it.skipIf(!built)('type-check an ESM (.mts) and a CommonJS (.cts) consumer of every entry point', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-consumer-'));
    await mkdir(join(dir, 'node_modules'));
    await symlink(root, join(dir, 'node_modules', 'sluice'), 'dir');
    await symlink(join(root, 'node_modules', 'zod'), join(dir, 'node_modules', 'zod'), 'dir');
    await writeFile(join(dir, 'esm.mts'), `${imports('esm')}\n${uses}`);
    await writeFile(join(dir, 'cjs.cts'), `${imports('cjs')}\n${uses}`);
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: [], skipLibCheck: false, lib: ['es2022', 'dom'] },
        files: ['esm.mts', 'cjs.cts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await promisify(execFile)(process.execPath, [tsc, '-p', dir, '--traceResolution'], { cwd: dir, maxBuffer: 64 << 20 }).catch(
      (e: { stdout: string }) => e,
    );
    const errors = result.stdout.split('\n').filter((l) => l.includes('error TS'));
    expect(errors).toEqual([]);
    // Each consumer resolved the declarations of its own format.
    expect(result.stdout).toMatch(/'sluice\/http' was successfully resolved to '[^']*dist\/http\/index\.d\.ts'/);
    expect(result.stdout).toMatch(/'sluice\/http' was successfully resolved to '[^']*dist\/http\/index\.d\.cts'/);
  }, 120_000);
});
