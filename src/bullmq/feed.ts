import type { Redis } from 'ioredis';
import { Observable } from 'rxjs';
import { asStoreError, WorkflowError } from '../errors/WorkflowError.js';
import { TERMINAL_KINDS, type RunEvent } from '../telemetry/runEvent.js';
import { runKeys, type ResultRecord } from './protocol.js';

/** Stream entries read per round trip. */
const PAGE = 500;

/**
 * One pub/sub connection shared by every watcher: a listener is called once its channel is subscribed, on
 * each message, and after every reconnect (messages sent while disconnected are lost, so watchers look again).
 */
class Doorbell {
  readonly #channels = new Map<string, { listeners: Set<() => void>; subscribed: Promise<unknown> }>();

  constructor(private readonly sub: Redis) {
    sub.on('message', (channel: string) => this.#ring(channel));
    sub.on('ready', () => {
      for (const channel of this.#channels.keys()) this.#ring(channel);
    });
  }

  /** Call `listener` now (once subscribed) and at every ring; returns the teardown. */
  watch(channel: string, listener: () => void): () => void {
    let entry = this.#channels.get(channel);
    if (entry === undefined) {
      entry = { listeners: new Set(), subscribed: this.sub.subscribe(channel) };
      this.#channels.set(channel, entry);
    }
    const watched = entry;
    watched.listeners.add(listener);
    // A failed SUBSCRIBE still calls the listener: its read fails the same way and reports it.
    void watched.subscribed.then(listener, listener);
    return () => {
      watched.listeners.delete(listener);
      if (watched.listeners.size > 0 || this.#channels.get(channel) !== watched) return;
      this.#channels.delete(channel);
      void this.sub.unsubscribe(channel).catch(() => undefined);
    };
  }

  #ring(channel: string): void {
    for (const listener of this.#channels.get(channel)?.listeners ?? []) listener();
  }
}

/**
 * The reading side of runs' event Streams: live, replaying RunEvents and results, for any number of runs
 * over two connections (commands, and pub/sub for the doorbell a worker rings after each append).
 */
export class RunFeed {
  readonly #bell: Doorbell;

  constructor(
    private readonly redis: Redis,
    sub: Redis,
    private readonly prefix: string,
  ) {
    this.#bell = new Doorbell(sub);
  }

  /** Every RunEvent of the run after `afterSeq`, in seq order, completing after the terminal one. */
  events$(runId: string, afterSeq = 0): Observable<RunEvent> {
    const keys = runKeys(this.prefix, runId);
    return new Observable<RunEvent>((subscriber) => {
      let last = afterSeq;
      let pulling = false;
      let again = false;
      const pull = async (): Promise<void> => {
        if (pulling) {
          again = true;
          return;
        }
        pulling = true;
        try {
          do {
            again = false;
            const entries = await this.redis.xrange(keys.events, `0-${last + 1}`, '+', 'COUNT', PAGE);
            for (const [, fields] of entries) {
              if (subscriber.closed) return;
              const event = JSON.parse(fields[1] as string) as RunEvent;
              // Only a run whose history was cut (historyLimit) can leave a hole: say so, never skip silently.
              if (event.seq > last + 1) subscriber.next({ kind: 'gap', missed: event.seq - last - 1, runId, seq: 0, at: Date.now() });
              last = event.seq;
              subscriber.next(event);
              if (TERMINAL_KINDS.has(event.kind)) return subscriber.complete();
            }
            if (entries.length === PAGE) again = true;
          } while (again && !subscriber.closed);
        } catch (error) {
          subscriber.error(asStoreError(error, `cannot read the events of run '${runId}'`));
        } finally {
          pulling = false;
        }
      };
      return this.#bell.watch(keys.channel, () => void pull());
    });
  }

  /** The run's result once it has one; rejects with its `WorkflowError` when it failed. */
  result(runId: string): Promise<unknown> {
    const keys = runKeys(this.prefix, runId);
    return new Promise((resolve, reject) => {
      let settled = false;
      const check = async (): Promise<void> => {
        const text = await this.redis.get(keys.result);
        if (text === null || settled) return;
        settled = true;
        stop();
        const record = JSON.parse(text) as ResultRecord;
        if (record.status === 'completed') resolve(record.result);
        else reject(WorkflowError.fromInfo(record.error));
      };
      const stop = this.#bell.watch(keys.channel, () =>
        check().catch((error: unknown) => {
          if (settled) return;
          settled = true;
          stop();
          reject(asStoreError(error, `cannot read the result of run '${runId}'`));
        }),
      );
    });
  }
}
