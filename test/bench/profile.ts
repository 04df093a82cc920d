/**
 * `npm run bench -- profile [W1,W3seq,W4] [sluice,rxjs]`: a CPU profile (V8 sampling profiler, 100 µs) of the
 * measured run of an engine child on a workload (default options, after its warm-up; start-up left out),
 * summarised: self time by area (sluice, rxjs, Node, GC, …) and the top functions by self time, sluice's
 * frames mapped back to src/ through the build's source maps. The raw .cpuprofile files stay in the printed
 * directory (open them in Chrome DevTools or speedscope).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function area(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)' || fn === '(idle)') return fn;
  if (url.includes('/dist/')) return url.includes('/node_modules/') ? 'other packages' : 'sluice';
  if (url.includes('/node_modules/rxjs/')) return 'rxjs';
  if (url.includes('/node_modules/tsx/') || url.includes('esbuild')) return 'startup (tsx)';
  if (url.includes('/test/bench/')) return 'bench harness + engine';
  if (url.startsWith('node:') || url === '') return 'Node internals / native';
  return 'other packages';
}

const maps = new Map<string, SourceMap | undefined>();

/** `file:line` of a frame; frames in sluice's build are mapped back to src/ through its source map. */
async function located(url: string, line: number, frame: { columnNumber?: number }): Promise<string> {
  const short = `${url.replace(/^.*\/(node_modules\/|dist\/|test\/bench\/)/, '$1')}:${line + 1}`;
  if (!url.startsWith('file://') || !url.includes('/dist/') || url.includes('/node_modules/')) return short;
  if (!maps.has(url)) {
    try {
      maps.set(url, new SourceMap(JSON.parse(await readFile(`${fileURLToPath(url)}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]));
    } catch {
      maps.set(url, undefined);
    }
  }
  const entry = maps.get(url)?.findEntry(line, frame.columnNumber ?? 0) as { originalSource?: string; originalLine?: number } | undefined;
  if (entry?.originalSource === undefined) return short;
  return `${entry.originalSource.replace(/^.*\/src\//, 'src/')}:${(entry.originalLine ?? 0) + 1}`;
}

async function profileOne(engine: string, workload: string, dir: string): Promise<string> {
  const script = fileURLToPath(new URL(`./engines/${engine}.ts`, import.meta.url));
  const out = join(dir, `${workload}-${engine}.cpuprofile`);
  await new Promise<void>((resolve, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, workload], {
      cwd: ROOT,
      env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'test', 'bench', 'tsconfig.json'), BENCH_CPU_PROFILE: out },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${engine} ${workload}: exit ${code}: ${stdout}`))));
  });
  const file = out;
  const profile = JSON.parse(await readFile(out, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Samples inside the profiler's own calls (node:inspector) are not the workload's.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inProfiler = (id: number): boolean => {
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) if (byId.get(x)?.callFrame.url === 'node:inspector') return true;
    return false;
  };
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    if (inProfiler(id)) continue;
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const a = area(url, functionName);
    if (a === '(idle)' || a === 'startup (tsx)') continue;
    total += us;
    areas.set(a, (areas.get(a) ?? 0) + us);
    const where = url === '' ? '' : ` ${await located(url, lineNumber, byId.get(id)!.callFrame)}`;
    const key = `${functionName || '(anonymous)'}${where}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1)} %`;
  const top = [...fns].sort((a, b) => b[1] - a[1]).slice(0, 15);
  return [
    `### ${workload} on ${engine}: ${(total / 1000).toFixed(0)} ms of samples in the measured run (idle left out) — ${file}`,
    '',
    `By area: ${[...areas].sort((a, b) => b[1] - a[1]).map(([a, us]) => `${a} ${pct(us)}`).join(', ')}`,
    '',
    '| self | function |',
    '| --- | --- |',
    ...top.map(([k, us]) => `| ${pct(us)} | \`${k}\` |`),
    '',
  ].join('\n');
}

const workloads = (process.argv[2] ?? 'W1,W3seq,W4').split(',');
const engines = (process.argv[3] ?? 'sluice,rxjs').split(',');
const dir = await mkdtemp(join(tmpdir(), 'sluice-profile-'));
for (const w of workloads) for (const e of engines) process.stdout.write(`${await profileOne(e, w, dir)}\n`);
