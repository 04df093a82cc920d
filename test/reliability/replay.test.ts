import { filter, firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { StartEvent, StopEvent, workflow, type RunEvent } from 'sluice';

const asking = workflow('replay-react', { timeout: null }).step('ask', { accepts: [StartEvent] }, async (_ev, ctx) =>
  StopEvent.of({ result: await ctx.requestInput('ok?') }),
);

describe('events$ replay to a subscriber that reacts', () => {
  // Found by the SIGKILL suite: answering a replayed input_requested from inside the subscriber emits
  // input_received while the replay is still running; that event went to the history but not to the subscriber.
  it('delivers the events a subscriber causes while its replay is running, in seq order, with no gap', async () => {
    const run = asking.run();
    await firstValueFrom(run.status$.pipe(filter((s) => s === 'waiting')));
    const seen: RunEvent[] = [];
    run.events$.subscribe((e) => {
      seen.push(e);
      if (e.kind === 'input_requested') run.respond(e.requestId, 'yes');
    });
    await expect(run.result).resolves.toBe('yes');
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1));
    expect(seen.map((e) => e.kind)).toContain('input_received');
  });

  it('completes a late subscriber whose reaction ended the run during the replay', async () => {
    const run = asking.run();
    await firstValueFrom(run.status$.pipe(filter((s) => s === 'waiting')));
    const kinds: string[] = [];
    let completed = false;
    run.events$.subscribe({
      next: (e) => {
        kinds.push(e.kind);
        if (e.kind === 'input_requested') run.abort('enough');
      },
      complete: () => (completed = true),
    });
    expect(kinds.at(-1)).toBe('run_aborted');
    expect(completed).toBe(true);
  });
});
