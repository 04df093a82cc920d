// Human in the loop: a step asks for approval; the run waits (status 'waiting') until someone answers.
import { StartEvent, StopEvent, workflow } from 'sluice';

const deploy = workflow('deploy').step('approve', { accepts: [StartEvent] }, async (ev, ctx) => {
  const answer = await ctx.requestInput<string>(`Deploy ${String(ev.data)} to production?`, { metadata: { risk: 'high' } });
  return StopEvent.of({ result: answer === 'yes' ? `deployed ${String(ev.data)}` : 'cancelled' });
});

const run = deploy.run('v2.1.0');
run.events$.subscribe((e) => {
  if (e.kind === 'input_requested') {
    console.log(`asked: ${e.prompt} (request id ends ${e.requestId.split('/')[1]})`);
    setTimeout(() => {
      console.log(`status while nobody answers: ${run.status}`);
      run.respond(e.requestId, 'yes'); // a human answers a little later
    }, 10);
  }
  if (e.kind === 'input_received') console.log('answered');
});
console.log('result:', await run.result);
