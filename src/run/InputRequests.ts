import { map, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { InputRequestOptions } from '../context/types.js';
import { WorkflowError } from '../errors/WorkflowError.js';
import { checkJson } from '../events/checks.js';
import type { InputWait, WaitingEntry } from '../snapshot/schema.js';
import type { RunEventBody } from '../telemetry/runEvent.js';
import type { Invocation } from './invocation.js';
import { budgetTimer, Stopwatch } from './operators/budgetTimer.js';
import type { RunStatus } from './status.js';

/** An open input request. */
interface Request extends WaitingEntry {
  invocation?: Invocation;
  resolve?: (response: unknown) => void;
  reject?: (error: WorkflowError) => void;
  timer?: Subscription;
  watch?: Stopwatch;
}

/** What input requests need from their run. */
export interface InputHost {
  readonly scheduler: SchedulerLike;
  /** The run's status; a deadline clock runs while it is not `paused`. */
  readonly status$: Observable<RunStatus>;
  emit(body: RunEventBody): void;
  /** The asking invocation parks on its request (it counts as settled for pause) / goes back to work. */
  park(inv: Invocation): void;
  unpark(inv: Invocation): void;
  /** A returned InputRequestEvent was answered: route the response as an InputResponseEvent. */
  route(requestId: string, response: unknown): void;
  /** A returned InputRequestEvent expired: the run fails with `error`. */
  fail(error: WorkflowError): void;
  /** Open requests changed (the run recomputes its status). */
  changed(): void;
}

/** Marks, among answers, a restored request whose deadline passed before its step asked again. */
const EXPIRED = Symbol('expired');

const expired = (requestId: string) =>
  new WorkflowError('input_timeout', `input request '${requestId}' expired`, { details: { requestId } });

/**
 * The run's open input requests (`ctx.requestInput` and returned InputRequestEvents), their deadlines, and the
 * answers kept for invocations still in flight — the `waiting` and `answered` parts of a snapshot.
 */
export class InputRequests {
  private readonly waiting = new Map<string, Request>();
  private readonly answered = new Map<string, unknown>();
  /** Answers given while paused, handed to their parked steps on resume. */
  private held: Request[] = [];

  constructor(
    private readonly host: InputHost,
    restored?: { waiting: readonly WaitingEntry[]; answered: Record<string, unknown> },
  ) {
    if (restored === undefined) return;
    for (const [id, response] of Object.entries(restored.answered)) this.answered.set(id, response);
    for (const entry of restored.waiting) this.track({ ...entry });
  }

  get open(): number {
    return this.waiting.size;
  }

  /** Does invocation `invocationId` have an open request (restored from a snapshot)? */
  isWaiting(invocationId: string): boolean {
    for (const id of this.waiting.keys()) if (id.startsWith(`${invocationId}:`)) return true;
    return false;
  }

  /** `ctx.requestInput`: the n-th request of this attempt, answered at once if an answer is kept. */
  ask(inv: Invocation, prompt: string, options: InputRequestOptions = {}): Promise<unknown> {
    const requestId = `${inv.id}:${++inv.requests}`;
    if (this.answered.has(requestId)) {
      const answer = this.answered.get(requestId);
      return answer === EXPIRED ? Promise.reject(expired(requestId)) : Promise.resolve(answer);
    }
    return new Promise((resolve, reject) => {
      const req =
        this.waiting.get(requestId) ?? this.openNew({ requestId, prompt, metadata: options.metadata ?? null }, options.timeout);
      if (!this.waiting.has(requestId) && !this.held.includes(req)) {
        // Answered synchronously by an `input_requested` subscriber, before there was anyone to deliver it to.
        resolve(this.answered.get(requestId));
        return;
      }
      req.invocation = inv;
      req.resolve = resolve;
      req.reject = reject;
      this.host.park(inv);
      this.host.changed();
    });
  }

  /** A returned InputRequestEvent; its answer will be routed. */
  openRouted(data: { requestId: string; prompt: string; metadata?: unknown; timeout?: number }): void {
    if (this.waiting.has(data.requestId)) return;
    this.openNew({ requestId: data.requestId, prompt: data.prompt, metadata: data.metadata ?? null, routed: true }, data.timeout);
  }

  /** Answer a request; `paused` keeps the answer until `resumed()`. Throws `unknown_request`. */
  respond(runId: string, requestId: string, response: unknown, paused: boolean): void {
    const req = this.waiting.get(requestId);
    if (req === undefined) {
      const open = [...this.waiting.keys()];
      const which = open.length === 0 ? 'it has none open' : `the open ones are ${open.map((id) => `'${id}'`).join(', ')}`;
      throw new WorkflowError(
        'unknown_request',
        `no open input request '${requestId}' in run ${runId}: ${which} (an id is answered once, and not after its deadline)`,
        { details: { requestId, open } },
      );
    }
    // The answer is kept in snapshots until the asking invocation settles: it must load back.
    checkJson(response, `run.respond('${requestId}', response): the response`, 'invalid_argument');
    this.waiting.delete(requestId);
    req.timer?.unsubscribe();
    this.host.emit({ kind: 'input_received', requestId });
    if (req.routed === true) return this.host.route(requestId, response);
    this.answered.set(requestId, response);
    // While paused the answer is kept and handed over on resume, so no step starts working mid-pause.
    if (paused) this.held.push(req);
    else this.deliver(req, response);
  }

  /** Hand over the answers given while paused. */
  resumed(): void {
    const held = this.held;
    this.held = [];
    for (const req of held) this.deliver(req, this.answered.get(req.requestId));
  }

  /** The invocation settled: its kept answers are no longer needed. */
  forget(inv: Invocation): void {
    for (let n = 1; n <= inv.requests; n++) this.answered.delete(`${inv.id}:${n}`);
  }

  /** The run ended: stop every deadline clock. */
  stop(): void {
    for (const req of this.waiting.values()) req.timer?.unsubscribe();
  }

  snapshot(): { waiting: InputWait[]; answered: Record<string, unknown> } {
    return {
      waiting: [...this.waiting.values()].map(waitingEntry),
      answered: Object.fromEntries([...this.answered].filter(([, answer]) => answer !== EXPIRED)),
    };
  }

  private openNew(entry: WaitingEntry, timeout: number | undefined): Request {
    const req: Request = { ...entry };
    if (timeout !== undefined) {
      req.deadline = this.host.scheduler.now() + timeout;
      req.remainingMs = timeout;
    }
    this.track(req);
    this.host.emit({
      kind: 'input_requested',
      requestId: req.requestId,
      prompt: req.prompt,
      metadata: req.metadata,
      ...(req.deadline === undefined ? {} : { deadline: req.deadline }),
    });
    return req;
  }

  /** Keep the request open and arm its deadline, whose clock runs only while the run is not paused. */
  private track(req: Request): void {
    this.waiting.set(req.requestId, req);
    if (req.remainingMs === undefined) return;
    const scheduler = this.host.scheduler;
    req.watch = new Stopwatch(() => scheduler.now());
    req.timer = this.host.status$
      .pipe(
        map((s) => s !== 'paused'),
        budgetTimer(req.remainingMs, scheduler, req.watch),
      )
      .subscribe(() => this.expire(req));
  }

  private expire(req: Request): void {
    this.waiting.delete(req.requestId);
    const error = expired(req.requestId);
    if (req.routed === true) this.host.fail(error);
    else if (req.reject !== undefined) {
      this.unpark(req);
      req.reject(error);
    } else {
      this.answered.set(req.requestId, EXPIRED); // restored, not asked again yet: the re-delivered call fails
    }
    this.host.changed();
  }

  private deliver(req: Request, response: unknown): void {
    if (req.resolve === undefined) return; // restored, not asked again yet: the step finds it in `answered`
    this.unpark(req);
    req.resolve(response);
  }

  private unpark(req: Request): void {
    if (req.invocation !== undefined && !req.invocation.settled) this.host.unpark(req.invocation);
  }
}

function waitingEntry(req: Request): InputWait {
  const entry: InputWait = { kind: 'input', requestId: req.requestId, prompt: req.prompt, metadata: req.metadata };
  if (req.deadline !== undefined) entry.deadline = req.deadline;
  if (req.remainingMs !== undefined && req.watch !== undefined) {
    entry.remainingMs = Math.max(0, req.remainingMs - req.watch.elapsed());
  }
  if (req.routed === true) entry.routed = true;
  return entry;
}
