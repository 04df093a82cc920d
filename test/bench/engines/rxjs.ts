/**
 * The floor: the same routing written by hand in plain RxJS, no engine. Per run: a bus Subject,
 * `groupBy(type)`, one `mergeMap` per accepting step (its concurrency limit), outputs fed back through a
 * trampoline (a queue drained by one loop, so synchronous re-entry cannot recurse), a boolean pause gate
 * holding events back, and a Subject for stream writes. No validation, history, snapshots or timeouts.
 */
import { merge, Subject, groupBy, mergeMap, type ObservableInput, type Subscription } from 'rxjs';
import { setImmediate as tick } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { runChild, type Engine } from '../workloads.js';

interface Ev {
  type: string;
  data: any; // bench payloads are untyped
}
type Out = Ev | Ev[] | undefined | void;
interface Step {
  accepts: string[];
  concurrency?: number;
  handler(ev: Ev, run: Run): Out | Promise<Out>;
}

const START = 'start';
const STOP = 'stop';
const ev = (type: string, data: unknown): Ev => ({ type, data });

class Run {
  readonly result: Promise<unknown>;
  /** What steps `write`: the stream a consumer reads. */
  readonly stream$ = new Subject<Ev>();
  /** Per-run scratch state for steps (the fan-in buffer). */
  readonly state: { collected: Ev[] } = { collected: [] };
  private readonly bus = new Subject<Ev>();
  private readonly subscription: Subscription;
  private queue: Ev[] = [];
  private head = 0;
  private draining = false;
  private paused = false;
  private held: Ev[] = [];
  private done = false;
  private resolve!: (r: unknown) => void;
  private reject!: (e: unknown) => void;

  constructor(routes: Map<string, Step[]>, input: unknown) {
    this.result = new Promise((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    this.subscription = this.bus
      .pipe(
        groupBy((e) => e.type),
        mergeMap((group) => {
          const steps = routes.get(group.key);
          if (steps === undefined) throw new Error(`no step accepts ${group.key}`);
          return merge(...steps.map((step) => group.pipe(mergeMap((e) => this.invoke(step, e), step.concurrency ?? Infinity))));
        }),
      )
      .subscribe({ next: (out) => this.emit(out), error: (e: unknown) => this.fail(e) });
    // Never dispatch synchronously: a consumer subscribing right after run() sees every write.
    queueMicrotask(() => this.emit(ev(START, input)));
  }

  write(e: Ev): void {
    this.stream$.next(e);
  }
  /** Events held back by the pause gate. */
  get heldCount(): number {
    return this.held.length;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (const e of held) this.queue.push(e);
    this.drain();
  }

  private invoke(step: Step, e: Ev): ObservableInput<Out> {
    const out = step.handler(e, this);
    return out instanceof Promise ? out : [out];
  }

  private emit(out: Out): void {
    if (out === undefined) return;
    if (Array.isArray(out)) for (const e of out) this.queue.push(e);
    else this.queue.push(out);
    this.drain();
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    while (this.head < this.queue.length && !this.done) {
      const e = this.queue[this.head++]!;
      if (e.type === STOP) this.finish(e.data);
      else if (this.paused) this.held.push(e);
      else this.bus.next(e);
    }
    this.queue = [];
    this.head = 0;
    this.draining = false;
  }

  private finish(result: unknown): void {
    this.done = true;
    this.subscription.unsubscribe();
    this.stream$.complete();
    this.resolve(result);
  }

  private fail(error: unknown): void {
    this.done = true;
    this.stream$.error(error);
    this.reject(error);
  }
}

function workflow(steps: Step[]): { run(input: unknown): Run } {
  const routes = new Map<string, Step[]>();
  for (const step of steps) for (const type of step.accepts) routes.set(type, [...(routes.get(type) ?? []), step]);
  return { run: (input) => new Run(routes, input) };
}

const tinyWorkflow = workflow([
  { accepts: [START], handler: async (e) => ev('mid', 2 * e.data) },
  { accepts: ['mid'], handler: async (e) => ev(STOP, e.data + 1) },
]);

export const engine: Engine = {
  chain(n) {
    return workflow([
      { accepts: [START], handler: async () => ev('ping', 1) },
      { accepts: ['pong'], handler: async (e) => (e.data >= n ? ev(STOP, e.data) : ev('ping', e.data + 1)) },
      { accepts: ['ping'], handler: async (e) => (e.data >= n ? ev(STOP, e.data) : ev('pong', e.data + 1)) },
    ]).run(0).result;
  },

  fanOut(n, concurrency) {
    return workflow([
      { accepts: [START], handler: async () => Array.from({ length: n }, (_, i) => ev('work', i)) },
      { accepts: ['work'], ...(concurrency === undefined ? {} : { concurrency }), handler: async (e) => ev('answer', e.data) },
      {
        accepts: ['answer'],
        handler: (e, run) => {
          const collected = run.state.collected;
          collected.push(e);
          if (collected.length < n) return undefined;
          return ev(STOP, { count: collected.length, sum: collected.reduce((s, a) => s + (a.data as number), 0) });
        },
      },
    ]).run(0).result;
  },

  tiny: (i) => tinyWorkflow.run(i).result,

  async stream(n) {
    const run = workflow([
      {
        accepts: [START],
        handler: async (_e, r) => {
          for (let i = 0; i < n; i++) r.write(ev('tick', i));
          return ev(STOP, n);
        },
      },
    ]).run(0);
    let read = 0;
    await new Promise<void>((resolve, reject) =>
      run.stream$.subscribe({ next: () => void read++, complete: resolve, error: reject }),
    );
    await run.result;
    return read;
  },

  // W5 without checkpoints: the floor has no persistence at all.
  longRun(n, _store, mark) {
    return workflow([
      {
        accepts: [START, 'next'],
        handler: async (e) => {
          const k = e.type === START ? 1 : (e.data as number);
          mark(k);
          await tick();
          return k >= n ? ev(STOP, n) : ev('next', k + 1);
        },
      },
    ]).run(0).result;
  },

  async park(n) {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const wf = workflow([
      {
        accepts: [START],
        handler: async (e) => {
          await gate;
          return ev('mid', 2 * e.data);
        },
      },
      { accepts: ['mid'], handler: async (e) => ev(STOP, e.data + 1) },
    ]);
    const runs = Array.from({ length: n }, (_, i) => wf.run(i));
    await tick(); // every run is inside its first step
    for (const run of runs) run.pause();
    open();
    await tick(); // each first step has answered; its output is held by the pause gate
    if (!runs.every((r) => r.heldCount === 1)) throw new Error('a run is not parked with one held event');
    return () => {
      for (const run of runs) run.resume();
      return Promise.all(runs.map((r) => r.result));
    };
  },
};

// A child process of the bench runs this file; flat.ts imports the engine for the floor's park row.
if (process.argv[1] === fileURLToPath(import.meta.url)) runChild(engine, 'rxjs');
