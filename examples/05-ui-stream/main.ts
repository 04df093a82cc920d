// Lifecycle events piped into a UI: a terminal progress view built from events$ with RxJS operators.
import { distinctUntilChanged, filter, map, scan } from 'rxjs';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, type RunEvent } from 'sluice';

const File = event('File', z.object({ name: z.string(), size: z.number() }));
const Done = event('Done', z.object({ name: z.string() }));

const files = ['a.csv', 'b.csv', 'c.csv', 'd.csv', 'e.csv', 'f.csv'];

const convert = workflow('convert')
  .step('list', { accepts: [StartEvent] }, () => files.map((name, i) => File.of({ name, size: (i % 3) + 1 })))
  .step('convert', { accepts: [File], concurrency: 2 }, async (ev, ctx) => {
    ctx.write({ type: 'Log', data: `converting ${ev.data.name}` });
    await new Promise((r) => setTimeout(r, ev.data.size * 5));
    return Done.of({ name: ev.data.name });
  })
  .step('finish', { accepts: [Done], collects: [Done] }, (_ev, ctx) => {
    const all = ctx.collect(Done, files.length);
    return all && StopEvent.of({ result: `${all.length} files converted` });
  });

interface View {
  running: number;
  done: number;
  last: string;
}

/** The whole UI is a fold over RunEvents: no callbacks into the engine, no shared mutable state. */
const view = (state: View, e: RunEvent): View => {
  if (e.kind === 'step_started' && e.step === 'convert') return { ...state, running: state.running + 1 };
  if (e.kind === 'step_completed' && e.step === 'convert') return { ...state, running: state.running - 1, done: state.done + 1 };
  if (e.kind === 'stream') return { ...state, last: String(e.event.data) };
  return state;
};

const render = ({ running, done, last }: View) =>
  `[${'#'.repeat(done)}${'-'.repeat(files.length - done)}] ${done}/${files.length} done, ${running} running · ${last}`;

const run = convert.run();
run.events$
  .pipe(
    filter((e) => e.kind === 'step_started' || e.kind === 'step_completed' || e.kind === 'stream'),
    scan(view, { running: 0, done: 0, last: 'starting' }),
    map(render),
    distinctUntilChanged(),
  )
  .subscribe((line) => console.log(line));
console.log(`result: ${String(await run.result)}`);
