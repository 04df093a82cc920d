import type { RunEvent } from 'sluice';
import { serve, type ServeOptions, type SluiceServer } from 'sluice/http';

/** One Server-Sent Event as a client parses it. `event` is `message` when the server sent no event name. */
export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

/** A JSON response: status, parsed body and headers. */
export interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

export interface TestServer extends SluiceServer {
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  events(runId: string, headers?: Record<string, string>): Promise<EventStream>;
}

/** Start a server on a free loopback port, with helpers for JSON calls and event streams. */
export async function start(options: Omit<ServeOptions, 'port' | 'hostname'>): Promise<TestServer> {
  const server = await serve({ ...options, port: 0, hostname: '127.0.0.1' });
  return Object.assign(server, {
    async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
      const init: RequestInit = { method, headers: { 'content-type': 'application/json', ...headers } };
      if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
      const res = await fetch(server.url + path, init);
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
    },
    events: (runId: string, headers: Record<string, string> = {}) =>
      EventStream.open(`${server.url}/api/runs/${encodeURIComponent(runId)}/events`, headers),
  });
}

/** A minimal SSE client over fetch, so tests can set Last-Event-ID and drop the connection at will. */
export class EventStream {
  private buffer = '';
  private readonly decoder = new TextDecoder();
  private readonly queued: SseMessage[] = [];

  private constructor(
    readonly response: Response,
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly controller: AbortController,
  ) {}

  static async open(url: string, headers: Record<string, string> = {}): Promise<EventStream> {
    const controller = new AbortController();
    const response = await fetch(url, { headers, signal: controller.signal });
    const body = response.body as ReadableStream<Uint8Array>;
    return new EventStream(response, body.getReader(), controller);
  }

  /** The next message, or `undefined` once the server closed the stream. */
  async next(): Promise<SseMessage | undefined> {
    while (this.queued.length === 0) {
      const chunk = await this.reader.read();
      if (chunk.done) return undefined;
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
      this.parse();
    }
    return this.queued.shift();
  }

  /** RunEvents (default `message`s) up to and including the first one matching `stop`. */
  async until(stop: (ev: RunEvent) => boolean): Promise<RunEvent[]> {
    const seen: RunEvent[] = [];
    for (let msg = await this.next(); msg !== undefined; msg = await this.next()) {
      if (msg.event !== 'message') continue;
      const ev = JSON.parse(msg.data) as RunEvent;
      seen.push(ev);
      if (stop(ev)) return seen;
    }
    throw new Error(`stream ended before the awaited event; saw ${seen.map((e) => e.kind).join(', ')}`);
  }

  /** Every message until the server closes the stream. */
  async rest(): Promise<SseMessage[]> {
    const all: SseMessage[] = [];
    for (let msg = await this.next(); msg !== undefined; msg = await this.next()) all.push(msg);
    return all;
  }

  /** Drop the connection, as a client going away would. */
  close(): void {
    this.controller.abort();
  }

  private parse(): void {
    let cut: number;
    while ((cut = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, cut);
      this.buffer = this.buffer.slice(cut + 2);
      let id: string | undefined;
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') id = value;
        if (field === 'event') event = value;
        if (field === 'data') data.push(value);
      }
      if (data.length > 0) this.queued.push({ id, event, data: data.join('\n') });
    }
  }
}

/** RunEvents among SSE messages. */
export const runEvents = (messages: readonly SseMessage[]): RunEvent[] =>
  messages.filter((m) => m.event === 'message').map((m) => JSON.parse(m.data) as RunEvent);
