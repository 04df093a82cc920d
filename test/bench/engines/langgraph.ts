/**
 * The workloads on LangGraph.js (@langchain/langgraph 1.7.3), through its public, idiomatic API:
 * a `StateGraph` per workload, nodes returning `Command({ update, goto })` or `Send`s, `MemorySaver` where
 * the workload needs state kept between calls, `interrupt()` to park, `config.writer` + `streamMode: 'custom'`
 * to stream. One node execution is one "event".
 *
 * Mapping, one line per workload:
 * - W1 chain: nodes `ping` ⇄ `pong`, each `Command({ update: { k: k + 1 }, goto: other | END })`; recursionLimit n + 10.
 * - W2 fan-out/in: `start` returns `Command({ goto: n × Send('work', { item }) })`; `work` appends to a reducer
 *   channel (`answers`, concat); `collect` (edge from `work`) runs once after the superstep; W2c adds `maxConcurrency: 8`.
 * - W3 tiny: compiled once; `double` → `finish` (plain edges), one `invoke` per run.
 * - W4 stream: one node calls `config.writer(i)` n times; `graph.stream(…, { streamMode: 'custom' })` is read.
 * - W5 long run: node `step` loops to itself with `Command`, awaiting `setImmediate`, `MemorySaver` checkpointer
 *   (a checkpoint per superstep, LangGraph's default durability); verified from the saver afterwards.
 * - M park: node `first` calls `interrupt()` (MemorySaver, one thread per run); resumed with `Command({ resume })`.
 */
import { Annotation, Command, END, MemorySaver, Send, START, StateGraph, interrupt } from '@langchain/langgraph';
import { setImmediate as macrotask } from 'node:timers/promises';
import { runChild, type Engine } from '../workloads.js';

const Chain = Annotation.Root({ k: Annotation<number>() });

function chainGraph(n: number) {
  const next = (k: number, other: 'ping' | 'pong') => new Command({ update: { k: k + 1 }, goto: k + 1 >= n ? END : other });
  return new StateGraph(Chain)
    .addNode('ping', async (s) => next(s.k, 'pong'), { ends: ['pong', END] })
    .addNode('pong', async (s) => next(s.k, 'ping'), { ends: ['ping', END] })
    .addEdge(START, 'ping');
}

const Fan = Annotation.Root({
  n: Annotation<number>(),
  item: Annotation<number>(),
  answers: Annotation<number[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  result: Annotation<{ count: number; sum: number }>(),
});

const fanGraph = new StateGraph(Fan)
  .addNode('start', (s) => new Command({ goto: Array.from({ length: s.n }, (_, i) => new Send('work', { item: i })) }), {
    ends: ['work'],
  })
  .addNode('work', async (s) => ({ answers: [s.item] }))
  .addNode('collect', (s) => ({ result: { count: s.answers.length, sum: s.answers.reduce((a, b) => a + b, 0) } }))
  .addEdge(START, 'start')
  .addEdge('work', 'collect')
  .addEdge('collect', END)
  .compile();

const Tiny = Annotation.Root({ x: Annotation<number>(), r: Annotation<number>() });
const tinyGraph = new StateGraph(Tiny)
  .addNode('double', async (s) => ({ x: 2 * s.x }))
  .addNode('finish', async (s) => ({ r: s.x + 1 }))
  .addEdge(START, 'double')
  .addEdge('double', 'finish')
  .addEdge('finish', END)
  .compile();

const Stream = Annotation.Root({ n: Annotation<number>() });
const streamGraph = new StateGraph(Stream)
  .addNode('writer', (s, config) => {
    for (let i = 0; i < s.n; i++) config.writer?.(i);
    return {};
  })
  .addEdge(START, 'writer')
  .addEdge('writer', END)
  .compile();

let thread = 0;

const engine: Engine = {
  async chain(n) {
    const out = await chainGraph(n).compile().invoke({ k: 0 }, { recursionLimit: n + 10 });
    return out.k;
  },

  async fanOut(n, concurrency) {
    const out = await fanGraph.invoke({ n }, concurrency === undefined ? {} : { maxConcurrency: concurrency });
    return out.result;
  },

  async tiny(i) {
    return (await tinyGraph.invoke({ x: i })).r;
  },

  async stream(n) {
    let read = 0;
    for await (const _ of await streamGraph.stream({ n }, { streamMode: 'custom' })) read++;
    return read;
  },

  async longRun(n, _store, mark) {
    const saver = new MemorySaver();
    const graph = new StateGraph(Chain)
      .addNode(
        'step',
        async (s) => {
          const k = s.k + 1;
          mark(k);
          await macrotask();
          return new Command({ update: { k }, goto: k >= n ? END : 'step' });
        },
        { ends: ['step', END] },
      )
      .addEdge(START, 'step')
      .compile({ checkpointer: saver });
    const config = { configurable: { thread_id: `long-${thread++}` }, recursionLimit: n + 10 };
    const out = await graph.invoke({ k: 0 }, config);
    const saved = await saver.getTuple(config);
    if ((saved?.checkpoint.channel_values as { k?: number } | undefined)?.k !== n) throw new Error('the saver does not hold the final state');
    return out.k;
  },

  async park(n) {
    const saver = new MemorySaver();
    const graph = new StateGraph(Tiny)
      .addNode('first', (s) => {
        interrupt('go?');
        return { x: 2 * s.x };
      })
      .addNode('second', (s) => ({ r: s.x + 1 }))
      .addEdge(START, 'first')
      .addEdge('first', 'second')
      .addEdge('second', END)
      .compile({ checkpointer: saver });
    const configs = Array.from({ length: n }, () => ({ configurable: { thread_id: `park-${thread++}` } }));
    const parked = await Promise.all(configs.map((config, i) => graph.invoke({ x: i }, config)));
    const notParked = parked.findIndex((p) => !('__interrupt__' in p));
    if (notParked !== -1) throw new Error(`run ${notParked} is not interrupted`);
    parked.length = 0;
    return async () => {
      const done = await Promise.all(configs.map((config) => graph.invoke(new Command({ resume: true }), config)));
      return done.map((s) => s.r);
    };
  },
};

runChild(engine, 'langgraph');
