/**
 * The workloads on @llamaindex/workflow-core 1.3.4, written the way its docs suggest, avoiding its known
 * traps (see notes/rxjs-performance.md):
 * - steps are async: synchronous chained handlers overflow the stack at ~440 events;
 * - the result is taken by a handler on the stop event, not by reading the stream (O(n) per event on a chain);
 * - every event type has a handler (a sink if need be): unhandled events are rescanned on every send.
 * It has no concurrency limit (W2c uses a semaphore inside the step), no fan-in helper (a per-run counter),
 * no pause (M parks each run inside a step awaiting a gate).
 */
import {
  createWorkflow,
  workflowEvent,
  type Workflow,
  type WorkflowContext,
  type WorkflowEventData,
} from '@llamaindex/workflow-core';
import { setImmediate as tick } from 'node:timers/promises';
import { runChild, type Engine } from '../workloads.js';

const Start = workflowEvent<number>({ debugLabel: 'start' });
const Stop = workflowEvent<unknown>({ debugLabel: 'stop' });
const Ping = workflowEvent<number>({ debugLabel: 'ping' });
const Pong = workflowEvent<number>({ debugLabel: 'pong' });
const Work = workflowEvent<number>({ debugLabel: 'work' });
const Answer = workflowEvent<number>({ debugLabel: 'answer' });
const Mid = workflowEvent<number>({ debugLabel: 'mid' });
const Tick = workflowEvent<number>({ debugLabel: 'tick' });

/** The root context carries the run's resolver; handler contexts inherit it through their prototype. */
type RunContext = WorkflowContext & { done?: (result: unknown) => void };

/** A workflow whose stop event resolves the run started by {@link run}. */
function withStop(): Workflow {
  const wf = createWorkflow();
  wf.handle([Stop], (ctx, stop) => {
    (ctx as RunContext).done?.(stop.data);
  });
  return wf;
}

function run(wf: Workflow, start: WorkflowEventData<number>): Promise<unknown> {
  const ctx: RunContext = wf.createContext();
  return new Promise((resolve, reject) => {
    ctx.done = resolve;
    // A handler that throws synchronously aborts the context instead of rejecting anything.
    ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
    ctx.sendEvent(start);
  });
}

/** At most `max` calls of `fn` in flight at once. */
function limiter(max: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  let head = 0;
  return async (fn) => {
    if (active < max) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await fn();
    } finally {
      if (head < waiting.length) waiting[head++]!();
      else active--;
    }
  };
}

const tinyWorkflow = withStop();
tinyWorkflow.handle([Start], async (_ctx, start) => Mid.with(2 * start.data));
tinyWorkflow.handle([Mid], async (_ctx, mid) => Stop.with(mid.data + 1));

const engine: Engine = {
  unsupported: {
    W5: 'no checkpointing in workflow-core 1.3.4 (its snapshot middleware is gone; the package is deprecated)',
  },

  chain(n) {
    const wf = withStop();
    const next = (k: number, other: typeof Ping) => (k >= n ? Stop.with(k) : other.with(k + 1));
    wf.handle([Start], async () => Ping.with(1));
    wf.handle([Ping], async (_ctx, ping) => next(ping.data, Pong));
    wf.handle([Pong], async (_ctx, pong) => next(pong.data, Ping));
    return run(wf, Start.with(0));
  },

  fanOut(n, concurrency) {
    const wf = withStop();
    const limit = concurrency === undefined ? (fn: () => Promise<WorkflowEventData<number>>) => fn() : limiter(concurrency);
    wf.handle([Start], async (ctx) => {
      for (let i = 0; i < n; i++) ctx.sendEvent(Work.with(i));
    });
    wf.handle([Work], (_ctx, work) => limit(async () => Answer.with(work.data)));
    let count = 0;
    let sum = 0;
    wf.handle([Answer], (_ctx, answer) => {
      count++;
      sum += answer.data;
      return count === n ? Stop.with({ count, sum }) : undefined;
    });
    return run(wf, Start.with(0));
  },

  tiny: (i) => run(tinyWorkflow, Start.with(i)),

  async stream(n) {
    const wf = createWorkflow();
    wf.handle([Start], async (ctx) => {
      for (let i = 0; i < n; i++) ctx.sendEvent(Tick.with(i));
      return Stop.with(n);
    });
    wf.handle([Tick], () => {}); // sink
    wf.handle([Stop], () => {}); // sink
    const ctx = wf.createContext();
    const stream = ctx.stream; // subscribe before the first event
    ctx.sendEvent(Start.with(0));
    let read = 0;
    // WorkflowStream is async-iterable at run time; its published types hide the method.
    for await (const ev of stream as unknown as AsyncIterable<WorkflowEventData<unknown>>) {
      if (Tick.include(ev)) read++;
      else if (Stop.include(ev)) break;
    }
    return read;
  },

  async park(n) {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let parked = 0;
    const wf = withStop();
    wf.handle([Start], async (_ctx, start) => Mid.with(2 * start.data));
    wf.handle([Mid], async (_ctx, mid) => {
      parked++;
      await gate;
      return Stop.with(mid.data + 1);
    });
    const results = Array.from({ length: n }, (_, i) => run(wf, Start.with(i)));
    await tick(); // every run is inside its second step, awaiting the gate
    if (parked !== n) throw new Error(`${parked} of ${n} runs parked`);
    return () => {
      open();
      return Promise.all(results);
    };
  },
};

runChild(engine, 'llamaindex');
