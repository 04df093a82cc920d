import fc from 'fast-check';
import { filter, firstValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, WorkflowError, type RunHandle, type Snapshot } from 'sluice';

/**
 * Snapshot mutations: a real snapshot (pending events addressed to a step, invocations in flight and waiting
 * for input, kept answers, a sub-workflow in flight, fan-in buffers, state) is mutated at random and resumed.
 * `wf.resume` must throw nothing but a WorkflowError; a snapshot it accepts must run without crashing the
 * process, stop when aborted, and give snapshots that resume again.
 *
 * SLUICE_FUZZ_RUNS sets the number of generated mutations (default 1 000, the CI size).
 */
const RUNS = Number(process.env.SLUICE_FUZZ_RUNS ?? 1_000);

const Item = event('Item', z.object({ n: z.number().int() }));
const Part = event('Part', z.object({ n: z.number().int() }));

const child = workflow('fuzz-child', { timeout: null }).step('confirm', { accepts: [StartEvent] }, async (ev, ctx) =>
  StopEvent.of({ result: `${String(ev.data)}:${String(await ctx.requestInput('confirm?'))}` }),
);

const fuzzy = workflow('fuzz', { timeout: null })
  .step('split', { accepts: [StartEvent] }, () => [Item.of({ n: 1 }), Item.of({ n: 2 }), Item.of({ n: 3 })])
  .step('work', { accepts: [Item], concurrency: 1 }, async (ev, ctx) => {
    if (ev.data.n === 1) await ctx.requestInput(`item ${ev.data.n}?`, { metadata: { n: ev.data.n } });
    ctx.state.update<number>('sum', (s = 0) => s + ev.data.n);
    return Part.of({ n: ev.data.n });
  })
  .subworkflow('audit', { accepts: [Item], workflow: child, input: (ev) => ev.data.n })
  .step('sink', { accepts: ['audit.output'] }, () => undefined)
  .step('join', { accepts: [Part], collects: [Part] }, (_ev, ctx) => {
    const all = ctx.collect(Part, 3);
    return all && StopEvent.of({ result: ctx.state.get('sum') });
  });

let base: Snapshot;
let strings: string[];

/** Every path to a value in a JSON tree (objects and arrays included), root first. */
function paths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function stringsIn(value: unknown, out = new Set<string>()): string[] {
  if (typeof value === 'string') out.add(value);
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) (out.add(k), stringsIn(v, out));
  return [...out];
}

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** Stands for a 50 000-level nesting (fast-check would overflow printing the real one in a counterexample). */
const DEEP = '<deep>';

type Mutation = { op: 'set' | 'delete' | 'duplicate' | 'copy'; at: number; from: number; value: unknown };

let basePaths: (string | number)[][];

function mutate(snapshot: unknown, mutations: readonly Mutation[]): unknown {
  const root = { root: structuredClone(snapshot) } as Record<string, unknown>;
  const at = (path: (string | number)[]) =>
    path.reduce<any>((v, k) => (typeof v === 'object' && v !== null ? v[k] : undefined), root);
  for (const m of mutations) {
    // Paths of the unmutated snapshot: an earlier mutation may have removed one, then this one does nothing.
    const target = ['root', ...basePaths[m.at % basePaths.length]!];
    const key = target[target.length - 1]!;
    const parent = at(target.slice(0, -1));
    if (typeof parent !== 'object' || parent === null) continue;
    if (parent === root && m.op !== 'set') continue;
    try {
      switch (m.op) {
        case 'set':
          parent[key] = m.value === DEEP ? nested(50_000) : m.value;
          break;
        case 'delete':
          if (Array.isArray(parent)) parent.splice(Number(key), 1);
          else delete parent[key];
          break;
        case 'duplicate':
          if (Array.isArray(parent)) parent.splice(Number(key), 0, structuredClone(parent[Number(key)]));
          break;
        case 'copy': {
          const source = at(['root', ...basePaths[m.from % basePaths.length]!]);
          parent[key] = source === undefined ? source : structuredClone(source);
          break;
        }
      }
    } catch {
      // A clone of a hostile value can overflow: that mutation is skipped.
    }
  }
  return root.root;
}

const hostile = () =>
  fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom<unknown>(Number.NaN, Number.POSITIVE_INFINITY, -1, 0, 1.5, 2 ** 31, 1e308, '', '\ud800', 'nope', null, true, [], {}, undefined),
    fc.constant(DEEP),
    fc.constantFrom(...strings),
  );

const mutation = () =>
  fc.record({
    op: fc.constantFrom<Mutation['op']>('set', 'set', 'set', 'delete', 'duplicate', 'copy'),
    at: fc.nat(),
    from: fc.nat(),
    value: hostile(),
  });

/** Settles (resolved or rejected) within `ms` of real time, else reports a hang. */
async function settles(p: Promise<unknown>, ms: number): Promise<'settled' | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)));
  const done = p.then(
    () => 'settled' as const,
    () => 'settled' as const,
  );
  const outcome = await Promise.race([done, hung]);
  clearTimeout(timer);
  return outcome;
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

let crashes: unknown[] = [];
const onCrash = (error: unknown) => crashes.push(error);

beforeAll(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const run = fuzzy.run('go', { runId: 'fuzz-base' });
  // Both the work step's question and the child's are open before the snapshot is taken.
  await firstValueFrom(run.events$.pipe(filter((e) => e.kind === 'input_requested'), take(1), toArray()));
  await turns(20);
  base = JSON.parse(JSON.stringify(await run.pause())) as Snapshot;
  run.abort('fixture taken');
  await run.result.catch(() => undefined);
  strings = stringsIn(base).filter((s) => s.length < 200);
  basePaths = paths(base);
});

afterAll(() => {
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
});

describe('the fixture snapshot', () => {
  it('holds every part the mutations should reach', () => {
    expect(base.status).toBe('paused');
    expect(base.inFlight.map((e) => e.step).sort()).toEqual(['audit', 'audit', 'audit', 'work']);
    expect(base.pending.filter((p) => p.to === 'work')).toHaveLength(2);
    expect(base.waiting).toHaveLength(1);
    expect(Object.keys(base.children)).toHaveLength(3);
    expect(() => fuzzy.resume(base).abort()).not.toThrow();
  });
});

describe('snapshot mutations', () => {
  it(`throw only WorkflowErrors, and accepted ones run, stop and snapshot again (${RUNS} mutations)`, async () => {
    let accepted = 0;
    let refused = 0;
    const codes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(mutation(), { minLength: 1, maxLength: 3 }), async (mutations) => {
        crashes = [];
        const mutated = mutate(base, mutations);
        let run: RunHandle;
        try {
          run = fuzzy.resume(mutated);
        } catch (error) {
          expect(error).toBeInstanceOf(WorkflowError);
          refused++;
          codes.set((error as WorkflowError).code, (codes.get((error as WorkflowError).code) ?? 0) + 1);
          return;
        }
        accepted++;
        run.resume();
        await turns(5);
        const mid = run.snapshot();
        const again = JSON.parse(JSON.stringify(mid)) as Snapshot;
        if (!['completed', 'failed', 'aborted', 'timed_out'].includes(again.status)) {
          const second = fuzzy.resume(again);
          second.abort('fuzz');
          expect(await settles(second.result, 2_000)).toBe('settled');
        }
        run.abort('fuzz');
        expect(await settles(run.result, 2_000)).toBe('settled');
        await run.result.catch((error: unknown) => expect(error).toBeInstanceOf(WorkflowError));
        await turns(2);
        expect(crashes).toEqual([]);
      }),
      { numRuns: RUNS },
    );
    expect(accepted + refused).toBe(RUNS);
    console.log(`snapshot mutations: ${RUNS} generated, ${refused} refused (${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}), ${accepted} accepted and run`);
  }, 120_000);
});

describe('snapshot checks against the workflow (the problems the issue found)', () => {
  type Loose = Omit<Snapshot, "pending" | "inFlight"> & { pending: any[]; inFlight: { step: string; invocationId: string; envelope: any }[] };
  const refusal = (change: (s: Loose) => void): string | undefined => {
    const s = structuredClone(base) as Loose;
    change(s);
    try {
      fuzzy.resume(s).abort();
      return undefined;
    } catch (error) {
      expect(error).toBeInstanceOf(WorkflowError);
      expect((error as WorkflowError).code).toBe('invalid_snapshot');
      return (error as WorkflowError).message;
    }
  };
  const work = (s: Loose) => s.inFlight.find((e) => e.step === 'work')!;

  it('refuses an in-flight step the workflow does not have', () => {
    expect(refusal((s) => (work(s).step = 'ghost'))).toContain("inFlight[");
    expect(refusal((s) => (work(s).step = 'ghost'))).toContain("has no step 'ghost'");
  });

  it('refuses a pending envelope addressed to an unknown step', () => {
    expect(refusal((s) => (s.pending[0]!.to = 'ghost'))).toContain("addressed to step 'ghost'");
  });

  it('refuses an in-flight step given a type it does not accept', () => {
    expect(refusal((s) => (work(s).envelope.event = { type: 'StartEvent', data: 'go' }))).toContain("step 'work' does not accept 'StartEvent'");
  });

  it('refuses one invocation delivered twice', () => {
    expect(refusal((s) => s.inFlight.push(structuredClone(work(s))))).toContain('in flight twice');
    expect(refusal((s) => s.pending.push({ ...structuredClone(work(s).envelope), to: 'work' }))).toContain('queued twice');
  });

  it('refuses an envelope waiting to be routed that was routed already (its steps would get it twice)', () => {
    expect(refusal((s) => delete s.pending[0]!.to)).toContain('was routed already');
  });

  it('refuses an in-flight entry whose id is not the one its re-delivery gets (its waits would be orphaned)', () => {
    expect(refusal((s) => (work(s).envelope.id = 'other'))).toContain("is not '<envelope id>/<step>'");
  });

  it('refuses seq going backwards (a version-1 snapshot whose history runs past its seq, or goes back)', () => {
    const v1 = (s: Loose, seqs: number[]) =>
      Object.assign(s, { version: 1, waiting: [], children: {}, history: seqs.map((seq) => ({ kind: 'stream', runId: s.runId, seq, at: 0 })) });
    expect(refusal((s) => v1(s, [1, s.seq + 1]))).toContain('seq only grows');
    expect(refusal((s) => v1(s, [2, 1]))).toContain('seq only grows');
    expect(refusal((s) => v1(s, [1, 2]))).toBeUndefined();
  });

  it('refuses event data its type schema rejects', () => {
    expect(refusal((s) => ((s.pending[0]!.event as { data: unknown }).data = { n: 'two' }))).toContain("data of 'Item' does not fit its schema");
  });

  it('refuses waits and answers of invocations that are not in flight', () => {
    expect(refusal((s) => (s.waiting[0]!.requestId = 'nobody:1'))).toContain("'nobody:1' belongs to no in-flight invocation");
    expect(refusal((s) => (s.answered = { 'orphan/work:1': 'yes' }))).toContain("'orphan/work:1' belongs to no in-flight invocation");
  });

  it('refuses hostile depth and non-JSON values with invalid_snapshot, not a RangeError', () => {
    expect(refusal((s) => (s.state = { tree: nested(100_000) }))).toContain('nested deeper than');
    expect(refusal((s) => ((s as { elapsedMs: number }).elapsedMs = Number.NaN))).toContain('NaN is not a JSON number');
  });

  it('refuses a run id that no store can hold', () => {
    expect(refusal((s) => (s.runId = 'a/b'))).toContain('runId');
  });
});
