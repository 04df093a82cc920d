import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { controlChannels, type ControlOp, type JobOutcome } from './protocol.js';

/** A control request on the wire: `ask` names it, `replyTo` is the asking worker. */
interface Request {
  ask: string;
  replyTo: string;
  runId: string;
  op: ControlOp;
}

interface Reply {
  ask: string;
  outcome: JobOutcome;
}

/**
 * Reaches a run held by some worker: a worker that finds a run `running` in the store (so held elsewhere, or
 * by a worker that died) publishes the request to every worker; the one holding the run applies it and
 * replies. No reply within the wait means nobody holds it right now (its holder died and BullMQ has not yet
 * handed its job to another worker): the asker tries again later.
 */
export class ControlBus {
  readonly id = randomUUID();
  readonly #asks = new Map<string, (outcome: JobOutcome) => void>();
  readonly #channels: ReturnType<typeof controlChannels>;
  #ready: Promise<unknown> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly sub: Redis,
    prefix: string,
    /** Apply a request to a run held here; `undefined` when this process does not hold it. */
    private readonly apply: (runId: string, op: ControlOp) => Promise<JobOutcome | undefined>,
  ) {
    this.#channels = controlChannels(prefix);
    sub.on('message', (channel: string, text: string) => this.#message(channel, text));
  }

  /** Subscribe (once); resolves when this worker hears requests and replies. */
  ready(): Promise<unknown> {
    this.#ready ??= this.sub.subscribe(this.#channels.requests, this.#channels.replies(this.id));
    return this.#ready;
  }

  /** Ask whichever worker holds `runId` to apply `op`; resolves its outcome, or `undefined` after `waitMs` of silence. */
  async ask(runId: string, op: ControlOp, waitMs: number): Promise<JobOutcome | undefined> {
    await this.ready();
    const ask = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<JobOutcome | undefined>((resolve) => {
      this.#asks.set(ask, resolve);
      timer = setTimeout(() => resolve(undefined), waitMs);
    });
    try {
      const request: Request = { ask, replyTo: this.id, runId, op };
      await this.redis.publish(this.#channels.requests, JSON.stringify(request));
      return await answered;
    } finally {
      clearTimeout(timer);
      this.#asks.delete(ask);
    }
  }

  #message(channel: string, text: string): void {
    if (channel === this.#channels.replies(this.id)) {
      const reply = parse<Reply>(text);
      if (reply !== undefined) this.#asks.get(reply.ask)?.(reply.outcome);
      return;
    }
    if (channel !== this.#channels.requests) return;
    const request = parse<Request>(text);
    if (request === undefined) return;
    void this.apply(request.runId, request.op)
      .then(async (outcome) => {
        if (outcome === undefined) return;
        const reply: Reply = { ask: request.ask, outcome };
        await this.redis.publish(this.#channels.replies(request.replyTo), JSON.stringify(reply));
      })
      // The asker hears nothing and asks again later.
      .catch(() => undefined);
  }
}

function parse<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
