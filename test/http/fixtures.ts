import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow } from 'sluice';

export const Draft = event('Draft', z.object({ title: z.string() }));
export const Approved = event('Approved', z.object({ title: z.string() }));

/** Asks one question, then publishes or stops. */
export const approval = workflow('approval', { timeout: null })
  .step('draft', { accepts: [StartEvent], emits: [Draft] }, (ev) => Draft.of({ title: String(ev.data) }))
  .step('review', { accepts: [Draft], emits: [Approved, StopEvent] }, async (ev, ctx) => {
    ctx.state.set('title', ev.data.title);
    const answer = await ctx.requestInput(`Publish ${ev.data.title}?`, { metadata: { title: ev.data.title } });
    return answer === 'yes' ? Approved.of(ev.data) : StopEvent.of({ result: 'rejected' });
  })
  .step('publish', { accepts: [Approved], emits: [StopEvent] }, (ev) => StopEvent.of({ result: `published ${ev.data.title}` }));

/** Ends at once with its input upper-cased; no declared emits. */
export const echo = workflow('echo').step('shout', { accepts: [StartEvent] }, (ev) =>
  StopEvent.of({ result: String(ev.data).toUpperCase() }),
);

/** Its only step throws. */
export const boom = workflow('boom').step('explode', { accepts: [StartEvent] }, () => {
  throw new Error('kaboom');
});
