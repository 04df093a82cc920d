import type { Redis } from 'ioredis';
import { asStoreError } from '../errors/WorkflowError.js';
import { runScript, script } from '../stores/redis/scripts.js';
import { TERMINAL_KINDS, type RunEvent, type RunEventOf } from '../telemetry/runEvent.js';
import { runKeys, type ResultRecord } from './protocol.js';

/**
 * KEYS: events stream, result key. ARGV: channel, retention ms (0 = keep), result JSON or '', then
 * seq, event JSON pairs in ascending seq.
 *
 * Appends the events newer than the stream's last one, with entry id `0-<seq>`: the stream only ever grows
 * by seq, so a batch published twice (a retried job, a worker that resumed the run) adds nothing twice.
 * Records the result only if there is none yet. Rings the channel when anything changed.
 * Returns {appended, recorded (0/1), last seq}.
 */
const PUBLISH = script(`
local top = 0
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if last[1] then top = tonumber(string.sub(last[1][1], 3)) end
local appended = 0
for i = 4, #ARGV, 2 do
  local seq = tonumber(ARGV[i])
  if seq > top then
    redis.call('XADD', KEYS[1], '0-' .. ARGV[i], 'e', ARGV[i + 1])
    top = seq
    appended = appended + 1
  end
end
local recorded = 0
if ARGV[3] ~= '' and redis.call('SET', KEYS[2], ARGV[3], 'NX') then
  recorded = 1
  local ttl = tonumber(ARGV[2])
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('PEXPIRE', KEYS[2], ttl)
  end
end
if appended > 0 or recorded == 1 then redis.call('PUBLISH', ARGV[1], top) end
return {appended, recorded, top}
`);

export interface Published {
  appended: number;
  /** This call wrote the run's result (it happens once per run). */
  recorded: boolean;
}

/** Publishes runs' RunEvents (and, with the terminal one, the result) to their Streams. */
export class Publisher {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** How long a finished run's events and result are kept (ms; 0 = forever). */
    private readonly retentionMs: number,
  ) {}

  /** Append `events` (ascending seq, one run) that the stream does not have yet; rejects `store_failed`. */
  async publish(runId: string, events: readonly RunEvent[]): Promise<Published> {
    const keys = runKeys(this.prefix, runId);
    const terminal = events.find(isTerminalEvent);
    const args: (string | number)[] = [keys.channel, this.retentionMs, terminal === undefined ? '' : JSON.stringify(resultOf(terminal))];
    for (const e of events) args.push(e.seq, JSON.stringify(e));
    try {
      const [appended, recorded] = (await runScript(this.redis, PUBLISH, [keys.events, keys.result], args)) as [number, number, number];
      return { appended, recorded: recorded === 1 };
    } catch (error) {
      throw asStoreError(error, `cannot publish the events of run '${runId}'`);
    }
  }
  /** The seq of the last event the run's Stream holds (0 when it has none); rejects `store_failed`. */
  async lastSeq(runId: string): Promise<number> {
    try {
      const [last] = await this.redis.xrevrange(runKeys(this.prefix, runId).events, '+', '-', 'COUNT', 1);
      return last === undefined ? 0 : Number(last[0].slice(2));
    } catch (error) {
      throw asStoreError(error, `cannot read the events of run '${runId}'`);
    }
  }
}

export type TerminalEvent = RunEventOf<'run_completed' | 'run_failed' | 'run_aborted' | 'run_timed_out'>;

export const isTerminalEvent = (event: RunEvent): event is TerminalEvent => TERMINAL_KINDS.has(event.kind);

/** The result record a terminal RunEvent stands for. */
export function resultOf(event: TerminalEvent): ResultRecord {
  const { seq } = event;
  switch (event.kind) {
    case 'run_completed':
      return { status: 'completed', result: event.result, seq };
    case 'run_failed':
      return { status: 'failed', error: event.error, seq };
    case 'run_aborted':
      return { status: 'aborted', error: event.error, seq };
    case 'run_timed_out':
      return { status: 'timed_out', error: event.error, seq };
  }
}
