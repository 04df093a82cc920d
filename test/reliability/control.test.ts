/**
 * Model-based test of run control (issue 17): random sequences of pause / resume / abort / respond / send /
 * snapshot / JSON round trip (snapshot → JSON → `wf.resume`) and time steps, run against a small model of
 * what DESIGN.md promises — the status after each command, which calls throw or reject with which code
 * (§5 "Throw or reject", "Edges", "Waiting") and the final result or error.
 *
 * Everything runs on one TestScheduler per sequence, advanced by hand: no sleeps, every run deterministic.
 * `SLUICE_FUZZ_RUNS` raises the number of sequences per workflow (default 300).
 */
import fc from 'fast-check';
import { firstValueFrom, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, WorkflowError, type RunHandle, type Snapshot } from 'sluice';

const RUNS = Number(process.env['SLUICE_FUZZ_RUNS'] ?? 300);

const Ping = event('Ping', z.object({ v: z.number() }));
const Tick = event('Tick', z.object({ i: z.number() }));
/** Nothing accepts it and nothing waits for it. */
const STRAY = { type: 'Stray', data: null };

/** Ticks of the counter workflow, and the frames each takes. */
const TICKS = 4;
const TICK_FRAMES = 10;

type Kind = 'ask' | 'counter' | 'wait';

/** The three workflows, on one scheduler. */
function workflows(scheduler: TestScheduler) {
  const ask = workflow('control-ask', { timeout: null, scheduler }).step('ask', { accepts: [StartEvent] }, async (_ev, ctx) =>
    StopEvent.of({ result: await ctx.requestInput('ok?') }),
  );
  // Each tick adds one to the state and takes TICK_FRAMES frames; the last stops with the count, which must be
  // exact whatever was paused, snapshotted or re-delivered.
  const counter = workflow('control-counter', { timeout: null, scheduler })
    .step('start', { accepts: [StartEvent] }, () => Tick.of({ i: 1 }))
    // An async step (not an Observable one: those route each output as it comes, before their writes commit).
    .step('tick', { accepts: [Tick] }, async (ev, ctx) => {
      ctx.state.update<number>('n', (n = 0) => n + 1);
      await firstValueFrom(timer(TICK_FRAMES, scheduler));
      return ev.data.i < TICKS ? Tick.of({ i: ev.data.i + 1 }) : StopEvent.of({ result: ctx.state.get<number>('n') });
    });
  const wait = workflow('control-wait', { timeout: null, scheduler })
    .step('listen', { accepts: [StartEvent] }, async (_ev, ctx) => StopEvent.of({ result: (await ctx.waitFor(Ping))?.data.v }))
    // Pings are accepted, so one the waiter does not take is not `no_handler`.
    .step('sink', { accepts: [Ping] }, () => undefined);
  return { ask, counter, wait };
}

/** Run every action due by `until` (default: now), letting promise continuations run in between. */
async function advance(scheduler: TestScheduler, frames = 0): Promise<void> {
  const until = scheduler.frame + frames;
  const actions = (scheduler as unknown as { actions: { delay: number }[] }).actions;
  for (let turn = 0; turn < 1_000; turn++) {
    scheduler.maxFrames = until;
    scheduler.flush();
    await new Promise((r) => setImmediate(r));
    if (!(actions[0] !== undefined && actions[0].delay <= until)) break;
  }
  scheduler.frame = until;
}

type Ended = { status: 'completed'; result: unknown } | { status: 'aborted' | 'failed'; code: string };

interface Model {
  kind: Kind;
  ended: Ended | undefined;
  paused: boolean;
  /** ask: the answer given (delivered, or kept while paused). wait: the first ping's value. */
  given: number | undefined;
  /** counter: ticks finished, frames left of the tick in flight (undefined: none), and an output waiting for resume. */
  ticks: number;
  left: number | undefined;
  queued: boolean;
  /** An event nothing takes, sent while paused: routed first on resume, it fails the run. */
  stray: boolean;
}

interface Real {
  scheduler: TestScheduler;
  wf: ReturnType<typeof workflows>[Kind];
  run: RunHandle;
  /** Pause promises, checked once the sequence is over: each must have settled. */
  pauses: { settled: boolean; value?: Snapshot; error?: unknown }[];
  /** Request ids that were open once (the ask workflow's, across round trips). */
  asked: Set<string>;
}

function status(m: Model): string {
  if (m.ended !== undefined) return m.ended.status;
  if (m.paused) return 'paused';
  if (m.kind === 'counter') return 'running';
  return 'waiting';
}

/** What happens when the run is not paused: answers and pings are taken, a finished tick's output is routed. */
function flow(m: Model): void {
  if (m.ended !== undefined || m.paused) return;
  if (m.stray) {
    m.ended = { status: 'failed', code: 'no_handler' };
    return;
  }
  if (m.kind !== 'counter' && m.given !== undefined) m.ended = { status: 'completed', result: m.given };
  if (m.kind === 'counter' && m.queued) {
    m.queued = false;
    if (m.ticks === TICKS) m.ended = { status: 'completed', result: TICKS };
    else m.left = TICK_FRAMES;
  }
}

/** Virtual time passing: the tick in flight runs on while paused, but the next starts only when running. */
function elapse(m: Model, frames: number): void {
  let k = frames;
  while (m.kind === 'counter' && m.ended === undefined && m.left !== undefined && m.left <= k) {
    k -= m.left;
    m.ticks++;
    m.left = undefined;
    m.queued = true;
    flow(m);
  }
  if (m.left !== undefined) m.left -= k;
}

function expectCode(fn: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(WorkflowError.is(thrown) ? thrown.code : thrown).toBe(code);
}

async function check(m: Model, r: Real): Promise<void> {
  await advance(r.scheduler);
  expect(r.run.status).toBe(status(m));
  const snap = r.run.snapshot();
  expect(snap.status).toBe(status(m));
  if (m.kind === 'counter' && m.ended === undefined) {
    // Ticks done are committed state; the tick in flight (if any) is the snapshot's one in-flight entry.
    expect([snap.state['n'] ?? 0, snap.inFlight.length]).toEqual([m.ticks, m.left === undefined ? 0 : 1]);
  }
}

type Cmd = fc.AsyncCommand<Model, Real>;
const cmd = (name: string, run: (m: Model, r: Real) => Promise<void> | void): Cmd => ({
  check: () => true,
  run: async (m, r) => {
    await run(m, r);
    await check(m, r);
  },
  toString: () => name,
});

const pause = () =>
  cmd('pause', (m, r) => {
    const entry: Real['pauses'][number] = { settled: false };
    r.run.pause().then(
      (value) => Object.assign(entry, { settled: true, value }),
      (error: unknown) => Object.assign(entry, { settled: true, error }),
    );
    r.pauses.push(entry);
    if (m.ended === undefined) {
      m.paused = true;
      return;
    }
    // A finished run: pause() rejects (never throws) with not_running.
    return advance(r.scheduler).then(() => expect(WorkflowError.is(entry.error) && entry.error.code).toBe('not_running'));
  });

const resume = () =>
  cmd('resume', (m, r) => {
    if (m.ended !== undefined) return expectCode(() => r.run.resume(), 'not_running');
    r.run.resume();
    m.paused = false;
    flow(m);
  });

const abort = () =>
  cmd('abort', (m, r) => {
    r.run.abort('enough');
    m.ended ??= { status: 'aborted', code: 'aborted' };
  });

const respond = (open: boolean, value: number) =>
  cmd(`respond(${open ? 'open' : 'bogus'}, ${value})`, (m, r) => {
    // The ask workflow's one request id (stable across round trips), or one no run ever had.
    const id = open ? ([...r.asked][0] ?? 'no/such:1') : 'no/such:1';
    if (m.ended !== undefined) return expectCode(() => r.run.respond(id, value), 'not_running');
    if (m.kind !== 'ask' || !open || m.given !== undefined) {
      // Not open: never asked, or answered already (an answer kept while paused included).
      return expectCode(() => r.run.respond(id, value), 'unknown_request');
    }
    r.run.respond(id, value);
    m.given = value;
    flow(m);
  });

const send = (stray: boolean, value: number) => ({
  ...cmd(stray ? 'send(stray)' : `send(ping ${value})`, (m, r) => {
    const ev = stray ? STRAY : Ping.of({ v: value });
    if (m.ended !== undefined) return expectCode(() => r.run.send(ev), 'not_running');
    r.run.send(ev);
    if (stray || m.kind !== 'wait') {
      // Nothing takes it: the run fails no_handler as soon as it is routed (now, or on resume).
      m.stray = true;
      flow(m);
      return;
    }
    m.given ??= value;
    flow(m);
  }),
  // While paused, an event nothing takes is sent only when nothing was queued before it (an answer, a ping, a
  // tick's output): which of those a resume routes first is the loop's business, not the contract's.
  check: (m: Model) => !((stray || m.kind !== 'wait') && m.paused && m.ended === undefined && (m.kind === 'counter' || m.given !== undefined)),
});

const tick = (frames: number) =>
  cmd(`advance(${frames})`, async (m, r) => {
    await advance(r.scheduler, frames);
    elapse(m, frames);
  });

const snapshot = () =>
  cmd('snapshot', (m, r) => {
    const snap = r.run.snapshot();
    expect(snap.status).toBe(status(m));
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
  });

/** The process dies; the run continues from its snapshot's JSON (a paused one resumes running). */
const roundTrip = () =>
  cmd('roundTrip', (m, r) => {
    const json = JSON.parse(JSON.stringify(r.run.snapshot())) as unknown;
    if (m.ended !== undefined) return expectCode(() => r.wf.resume(json), 'not_running');
    r.run.abort('replaced');
    r.run = r.wf.resume(json);
    r.run.result.catch(() => undefined);
    m.paused = false;
    // An invocation in flight starts again from the top; its state writes were never saved.
    if (m.left !== undefined) m.left = TICK_FRAMES;
    flow(m);
  });

const commands = fc.commands(
  [
    fc.constant(pause()),
    fc.constant(resume()),
    // Abort ends everything, so it is drawn less often than the rest.
    fc.oneof({ arbitrary: fc.constant(abort()), weight: 1 }, { arbitrary: fc.constant(snapshot()), weight: 2 }),
    fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 99 })).map(([open, v]) => respond(open, v)),
    fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 99 })).map(([stray, v]) => send(stray, v)),
    // Steps that land on and around tick boundaries as often as anywhere else.
    fc.oneof(fc.constantFrom(1, TICK_FRAMES - 1, TICK_FRAMES, TICK_FRAMES + 1), fc.integer({ min: 1, max: 3 * TICK_FRAMES })).map(tick),
    fc.constant(roundTrip()),
  ],
  { maxCommands: 12 },
);

async function property(kind: Kind, cmds: Iterable<Cmd>): Promise<void> {
  const scheduler = new TestScheduler(() => undefined);
  const wf = workflows(scheduler)[kind];
  const run = wf.run(null);
  run.result.catch(() => undefined);
  const real: Real = { scheduler, wf, run, pauses: [], asked: new Set() };
  const model: Model = { kind, ended: undefined, paused: false, given: undefined, ticks: 0, left: kind === 'counter' ? TICK_FRAMES : undefined, queued: false, stray: false };
  await check(model, real);
  for (const w of run.snapshot().waiting) real.asked.add(w.requestId);

  await fc.asyncModelRun(() => ({ model, real }), cmds);

  // Finish the run the ordinary way, and compare how it ended with the model.
  if (model.ended === undefined) {
    if (model.paused) await resume().run(model, real);
    if (model.ended === undefined && kind === 'ask') await respond(true, 42).run(model, real);
    if (model.ended === undefined && kind === 'wait') await send(false, 42).run(model, real);
    if (model.ended === undefined && kind === 'counter') await tick(TICK_FRAMES * (TICKS + 1)).run(model, real);
  }
  const ended = model.ended as Ended;
  expect(ended).toBeDefined();
  const outcome = await real.run.result.then(
    (result) => ({ status: 'completed', result }),
    (error: unknown) => ({ status: real.run.status, code: WorkflowError.is(error) ? error.code : String(error) }),
  );
  expect(outcome).toEqual(ended);
  if (kind === 'counter' && ended.status === 'completed') expect(real.run.snapshot().state).toEqual({ n: TICKS });
  // No pause() is left hanging: each resolved with a snapshot or rejected with a WorkflowError.
  await advance(scheduler, 1);
  for (const p of real.pauses) {
    expect(p.settled).toBe(true);
    if (p.error !== undefined) expect(WorkflowError.is(p.error)).toBe(true);
    else expect(['paused', 'running', 'waiting']).toContain(p.value?.status);
  }
}

describe('run control against a model (fast-check)', () => {
  for (const kind of ['ask', 'counter', 'wait'] as const) {
    it(`${kind}: ${RUNS} random command sequences keep status, throws and outcome as the model says`, async () => {
      await fc.assert(
        fc.asyncProperty(commands, (cmds) => property(kind, cmds)),
        { numRuns: RUNS },
      );
    }, 120_000);
  }
});
