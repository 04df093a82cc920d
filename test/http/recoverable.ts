// Workflows module for the `sluice serve` restart test. With SLUICE_TEST_HANG=1 step `slow` never returns,
// so the server dies with the run mid-way; the next server recovers it and the step runs to the end.
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow } from 'sluice';

const Prepared = event('Prepared', z.object({ n: z.number() }));

export const recoverable = workflow<string>('recoverable', { timeout: null })
  .step('prepare', { accepts: [StartEvent] }, async (ev) => Prepared.of({ n: Number(ev.data) }))
  .step('slow', { accepts: [Prepared] }, async (ev) => {
    if (process.env['SLUICE_TEST_HANG'] === '1') await new Promise(() => {});
    return StopEvent.of({ result: `done ${ev.data.n * 10}` });
  });
