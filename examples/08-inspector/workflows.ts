// Workflows served by example 08 and by `npx sluice serve examples/08-inspector/workflows.ts`.
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow } from 'sluice';

const Draft = event('Draft', z.object({ title: z.string(), words: z.number() }));
const Approved = event('Approved', z.object({ title: z.string() }));

/** Draft a post, ask a human whether to publish it, publish or stop. `emits` draws the inspector's graph. */
export const publish = workflow('publish', { timeout: null })
  .step('draft', { accepts: [StartEvent], emits: [Draft] }, (ev) => {
    const title = typeof ev.data === 'string' && ev.data !== '' ? ev.data : 'Untitled';
    return Draft.of({ title, words: title.split(' ').length * 100 });
  })
  .step('review', { accepts: [Draft], emits: [Approved, StopEvent] }, async (ev, ctx) => {
    ctx.state.set('draft', ev.data);
    const answer = await ctx.requestInput(`Publish "${ev.data.title}"?`, { metadata: { words: ev.data.words } });
    return answer === 'yes' ? Approved.of({ title: ev.data.title }) : StopEvent.of({ result: 'not published' });
  })
  .step('publish', { accepts: [Approved], emits: [StopEvent] }, (ev, ctx) => {
    ctx.state.set('published', ev.data.title);
    return StopEvent.of({ result: `published "${ev.data.title}"` });
  });

export default [publish];
