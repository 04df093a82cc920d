import type { WorkflowEvent } from '../events/event.js';
import type { DurableWait, Snapshot, WaitingEntry } from '../snapshot/schema.js';
import type { Invocation } from './invocation.js';
import { InputRequests, type InputHost } from './InputRequests.js';
import { Waits, type WaitHost } from './Waits.js';

/**
 * What a run's invocations wait for: input requests (`ctx.requestInput`, a returned InputRequestEvent) and
 * durable waits (`ctx.sleep`, `ctx.waitFor`, DESIGN §6.4). Each room is created on first use — most runs
 * never wait — and both share the snapshot's `waiting` list and kept `answered` (their ids never collide).
 */
export class Waiting {
  private requests: InputRequests | undefined;
  private waits: Waits | undefined;

  constructor(
    private readonly hosts: { inputHost(): InputHost; waitHost(): WaitHost },
    restored?: Pick<Snapshot, 'waiting' | 'answered'>,
  ) {
    if (restored === undefined) return;
    const { waiting, answered } = restored;
    const inputs = waiting.filter((w): w is WaitingEntry => w.kind === undefined || w.kind === 'input');
    const durable = waiting.filter((w): w is DurableWait => w.kind === 'sleep' || w.kind === 'event');
    if (inputs.length > 0 || durable.length === 0) this.requests = new InputRequests(hosts.inputHost(), { waiting: inputs, answered });
    if (durable.length > 0 || Object.keys(answered).length > 0) this.waits = new Waits(hosts.waitHost(), { waiting: durable, answered });
  }

  /** Input requests (created on first use). */
  inputs(): InputRequests {
    this.requests ??= new InputRequests(this.hosts.inputHost());
    return this.requests;
  }

  /** Sleeps and event waits (created on first use). */
  durable(): Waits {
    this.waits ??= new Waits(this.hosts.waitHost());
    return this.waits;
  }

  /** How many requests and waits are open. */
  get open(): number {
    return (this.requests?.open ?? 0) + (this.waits?.open ?? 0);
  }

  /** A routed event: the ids of the `waitFor`s it satisfies. */
  offer(event: WorkflowEvent): string[] {
    return this.waits?.offer(event) ?? [];
  }

  /** A settled invocation's open requests and waits are dropped. */
  forget(inv: Invocation): void {
    this.requests?.forget(inv);
    this.waits?.forget(inv);
  }

  resumed(): void {
    this.requests?.resumed();
    this.waits?.resumed();
  }

  stop(): void {
    this.requests?.stop();
    this.waits?.stop();
  }

  /** Open requests and durable waits, and the answers kept for both. */
  snapshot(): Pick<Snapshot, 'waiting' | 'answered'> {
    const inputs = this.requests?.snapshot();
    const waits = this.waits?.snapshot();
    if (waits === undefined) return inputs ?? { waiting: [], answered: {} };
    if (inputs === undefined) return waits;
    return { waiting: [...inputs.waiting, ...waits.waiting], answered: { ...inputs.answered, ...waits.answered } };
  }
}
