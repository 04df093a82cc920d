import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { filter, Subscription, take } from 'rxjs';
import type { RunHandle } from '../run/RunHandle.js';
import { isTerminal, type RunStatus } from '../run/status.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import type { RunRegistry } from './runs.js';

export interface EventStreamOptions {
  /** ms between `: keep-alive` comments, so proxies do not drop an idle stream. */
  heartbeatMs: number;
  /** Streams still open; the server ends them when it closes (each resolves once its stream is closed). */
  open: Set<() => Promise<void>>;
}

/**
 * `GET /api/runs/:id/events`: the run's RunEvents as Server-Sent Events, `id:` = `seq`, skipping every
 * seq <= `after` (the client's Last-Event-ID), so a reconnecting client continues where it stopped.
 *
 * A live run streams its replaying `events$`. A stored run replays its journal (`store.events`); if it has not
 * ended, the stream then waits for the run to become live here (resumed from the inspector or the API) and
 * follows it. The stream ends with one `end` event `{ status }` once the run has ended: an `EventSource`
 * should `close()` on it, or it would reconnect. A replay `gap` event is forwarded only when the client
 * really missed events.
 *
 * The caller resolves the run first (so an unknown id is a 404, not an empty stream).
 */
export function streamRunEvents(
  c: Context,
  registry: RunRegistry,
  source: { live: RunHandle } | { history: readonly RunEvent[]; status: RunStatus; runId: string },
  after: number,
  options: EventStreamOptions,
): Response {
  return streamSSE(c, (stream) => pump(stream, registry, source, after, options));
}

function pump(
  stream: SSEStreamingApi,
  registry: RunRegistry,
  source: Parameters<typeof streamRunEvents>[2],
  after: number,
  options: EventStreamOptions,
): Promise<void> {
  return new Promise<void>((done) => {
    const subscription = new Subscription();
    let last = after;
    let gap: RunEvent | undefined;
    // Writes are chained so events leave in seq order even when a burst arrives synchronously.
    let writes: Promise<unknown> = Promise.resolve();
    const write = (fn: () => Promise<unknown>) => {
      writes = writes.then(() => (stream.aborted ? undefined : fn()));
    };
    let closed: Promise<void> | undefined;
    const finish = () => {
      subscription.unsubscribe();
      options.open.delete(finish);
      // Close here rather than when this promise settles, so the caller can await the stream's last byte.
      closed ??= writes.then(() => stream.close()).then(done, done);
      return closed;
    };
    options.open.add(finish);
    stream.onAbort(() => void finish());

    const heartbeat = setInterval(() => write(() => stream.write(': keep-alive\n\n')), options.heartbeatMs);
    subscription.add(() => clearInterval(heartbeat));

    const forward = (ev: RunEvent) => {
      if (ev.kind === 'gap') {
        gap = ev;
        return;
      }
      if (ev.seq <= last) return;
      const missed = gap;
      gap = undefined;
      if (missed !== undefined && ev.seq > last + 1) write(() => stream.writeSSE({ event: 'gap', data: JSON.stringify(missed) }));
      last = ev.seq;
      write(() => stream.writeSSE({ id: String(ev.seq), data: JSON.stringify(ev) }));
    };
    const end = (status: RunStatus) => {
      write(() => stream.writeSSE({ event: 'end', data: JSON.stringify({ status }) }));
      finish();
    };
    const follow = (run: RunHandle) => {
      subscription.add(run.events$.subscribe({ next: forward, complete: () => end(run.status) }));
    };

    if ('live' in source) {
      follow(source.live);
      return;
    }
    for (const ev of source.history) forward(ev);
    if (isTerminal(source.status)) {
      end(source.status);
      return;
    }
    // Not live: the run may have become live while the store was read; otherwise wait until it does.
    const now = registry.handle(source.runId);
    if (now !== undefined) {
      follow(now);
      return;
    }
    subscription.add(
      registry.opened$
        .pipe(
          filter((run) => run.id === source.runId),
          take(1),
        )
        .subscribe(follow),
    );
  });
}
