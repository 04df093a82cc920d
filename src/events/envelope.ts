import type { WorkflowEvent } from './event.js';

/**
 * What travels on the bus: an event plus where it came from.
 * `source` is the emitting step's name (absent for the start event and outside `send`, `'input'` for
 * input responses); `to` addresses an envelope held back by a step's concurrency limit to that step only.
 */
export interface Envelope {
  readonly id: string;
  readonly event: WorkflowEvent;
  readonly source?: string;
  readonly at: number;
  readonly to?: string;
  /** When an envelope held back by a step's debounce or rate limit is due (scheduler epoch ms). */
  readonly dueAt?: number;
  /** The invocation that produced it (a step's output or `ctx.send`): `event_routed` reports it as `invocationId`. */
  readonly from?: string | undefined;
}
