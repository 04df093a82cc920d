import type { Envelope } from '../events/envelope.js';
import type { WorkflowSpec } from '../workflow/spec.js';
import type { EventLog } from './eventLog.js';
import type { FanIn } from './fanIn.js';
import type { Outcome } from './reducer.js';
import { addressTo, route, routedEvent } from './route.js';
import type { Waiting } from './waiting.js';

/** What routing needs from its run. */
export interface RouterHost {
  readonly spec: WorkflowSpec;
  readonly log: EventLog;
  readonly fanIn: FanIn;
  readonly waiting: Waiting;
  /** Hand an addressed envelope to its step's pipeline. */
  deliver(env: Envelope): void;
  propose(outcome: Outcome): void;
}

/**
 * One dispatched envelope, as routing says (DESIGN §3.1–3.3): announce it (`event_routed`), buffer it for
 * fan-in, offer it to `waitFor`s, deliver a copy to every accepting step — or stop, open an input request,
 * or fail `no_handler`.
 */
export function dispatchEnvelope(host: RouterHost, env: Envelope): void {
  const to = route(host.spec, env);
  const routed = (steps: string[], waiters: string[] = []): void => {
    host.log.emit(routedEvent(env, steps, waiters));
  };
  switch (to.kind) {
    case 'addressed':
      return host.deliver(env);
    case 'stop':
      // Decide before announcing, so an observer calling abort() on this event_routed cannot override it.
      host.propose({ status: 'completed', result: to.result });
      return routed([]);
    case 'input':
      routed([]);
      return host.waiting.inputs().openRouted(to.request);
    case 'no_handler': {
      // An event only a waiter takes is not unhandled (§6.4); one nobody takes is reported, then fails the run.
      const waiters = host.waiting.offer(env.event);
      if (waiters.length === 0) host.propose({ status: 'failed', error: to.error });
      return routed([], waiters);
    }
    case 'steps': {
      host.fanIn.offer(env.event);
      const waiters = host.waiting.offer(env.event);
      routed(to.names as string[], waiters);
      for (const step of to.steps) host.deliver(addressTo(env, step.name));
    }
  }
}
