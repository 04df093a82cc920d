// Every ```ts block in README.md and docs/*.md type-checks as a standalone module importing from 'sluice'
// (compiled against src/ through tsconfig paths), and README blocks marked `<!-- program -->` run and print
// what the ```text block after them shows.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Inside the repository so that 'zod', 'rxjs', 'pino'… resolve from its node_modules (and tsx applies its paths).
const dir = join(root, 'test', 'docs', '.blocks'); // gitignored

interface Block {
  file: string;
  line: number; // 1-based line of the block's first code line
  code: string;
  program: boolean;
  output: string | undefined;
}

/** The ```ts blocks of a markdown file, with where they start and, for programs, their expected output. */
export function blocksOf(file: string, text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const program = before >= 0 && lines[before]!.trim() === '<!-- program -->';
    let output: string | undefined;
    if (program) {
      let j = end + 1;
      while (j < lines.length && !lines[j]!.startsWith('```')) j++;
      if (lines[j] === '```text') {
        let k = j + 1;
        while (k < lines.length && lines[k] !== '```') k++;
        output = lines.slice(j + 1, k).join('\n');
      }
    }
    blocks.push({ file, line: start + 1, code: lines.slice(start, end).join('\n'), program, output });
    i = end;
  }
  return blocks;
}

const docs = existsSync(join(root, 'docs'))
  ? readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))
  : [];
const files = ['README.md', ...docs];
const blocks = files.flatMap((f) => blocksOf(f, readFileSync(join(root, f), 'utf8')));
const nameOf = (b: Block) => `${b.file.replace(/[^A-Za-z0-9]+/g, '_')}_L${b.line}.mts`;

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('code blocks in README.md and docs/', () => {
  it('finds the blocks, with their lines', () => {
    expect(blocksOf('x.md', 'a\n```ts\nconst a = 1;\n```\n<!-- program -->\n```ts\nconsole.log(1)\n```\n\n```text\n1\n```\n')).toEqual([
      { file: 'x.md', line: 3, code: 'const a = 1;', program: false, output: undefined },
      { file: 'x.md', line: 7, code: 'console.log(1)', program: true, output: '1' },
    ]);
    expect(blocks.filter((b) => b.file === 'README.md').length).toBeGreaterThan(0);
  });

  it('type-checks every ```ts block as a standalone module', async () => {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    for (const b of blocks) await writeFile(join(dir, nameOf(b)), `${b.code}\nexport {};\n`);
    const src = (p: string) => join(root, 'src', p);
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(root, 'tsconfig.json'),
        compilerOptions: {
          noEmit: true,
          noUnusedLocals: false,
          noUnusedParameters: false,
          baseUrl: dir,
          paths: {
            sluice: [src('index.ts')],
            'sluice/postgres': [src('stores/postgres/index.ts')],
            'sluice/redis': [src('stores/redis/index.ts')],
            'sluice/bullmq': [src('bullmq/index.ts')],
            'sluice/http': [src('http/index.ts')],
            'sluice/*': [join(root, 'src', '*', 'index.ts')],
          },
        },
        // src's ambient declarations (e.g. the inspector's `?raw` imports) come along with src.
        include: ['*.mts', join(root, 'src', 'types', '*.d.ts')],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const out = await promisify(execFile)(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { cwd: dir, maxBuffer: 16 << 20 })
      .then((r) => r.stdout)
      .catch((e: { stdout: string }) => e.stdout);
    const byName = new Map(blocks.map((b) => [nameOf(b), b]));
    const problems = out
      .split('\n')
      .filter((l) => l.includes('error TS'))
      .map((l) => {
        const m = /([^/\\(]+\.mts)\((\d+),(\d+)\): (.*)$/.exec(l);
        const b = m === null ? undefined : byName.get(m[1]!);
        if (m === null || b === undefined) return relative(dir, l);
        return `${b.file}:${b.line + Number(m[2]) - 1}: ${m[4]}`;
      });
    expect(problems).toEqual([]);
  }, 180_000);

  const programs = blocks.filter((b) => b.program);
  it.each(programs.map((b) => [`${b.file}:${b.line}`, b] as const))('runs the program at %s and prints what the page shows', async (_where, b) => {
    await mkdir(dir, { recursive: true });
    const file = join(dir, `run_${nameOf(b)}`);
    await writeFile(file, `${b.code}\nexport {};\n`);
    const { stdout } = await promisify(execFile)(join(root, 'node_modules', '.bin', 'tsx'), [file], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '', TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
    });
    expect(b.output, `${b.file}:${b.line}: a <!-- program --> block needs a \`\`\`text block with its output after it`).toBeDefined();
    expect(stdout.trimEnd()).toBe(b.output);
  }, 60_000);
});
