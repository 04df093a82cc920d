import { Redis } from 'ioredis';
import type { Cluster, RedisOptions } from 'ioredis';
import { asStoreError } from '../../errors/WorkflowError.js';
import type { AnySnapshot, Snapshot } from '../../snapshot/schema.js';
import type { RunEvent } from '../../telemetry/runEvent.js';
import type { CheckpointStore, EventsOptions, ListFilter, PruneFilter, RunSummary } from '../CheckpointStore.js';
import {
  WriterClaims,
  byUpdatedAt,
  checkSaveable,
  conflictError,
  eventsWindow,
  invalidStored,
  isRunStatus,
  journalDelta,
  journalWindow,
  listed,
  olderThanBound,
  parseStoredJson,
  storedRun,
  storedSnapshot,
} from '../shared.js';
import { DELETE, EVENTS, LOAD, PRUNE, SAVE, runScript } from './scripts.js';

export interface RedisStoreOptions {
  /** An ioredis client to use. The store never closes it; handle its `'error'` events yourself. */
  redis?: Redis | Cluster;
  /** Or a `redis://` URL (default `redis://127.0.0.1:6379`): the store creates a client, `close()` disconnects it. */
  url?: string;
  /** Extra ioredis settings for the client the store creates. */
  redisOptions?: RedisOptions;
  /**
   * Prepended to every key; default `sluice:`. On Redis Cluster give it a hash tag (`{sluice}:`) so a run's
   * hash and the index live in one slot, as the scripts require.
   */
  prefix?: string;
  /** Clock stamping `updatedAt` (epoch ms). Defaults to `Date.now`. */
  now?: () => number;
  /** This instance's writer id for the conflict check; a random UUID by default. */
  writerId?: string;
}

const NAME = 'RedisStore';
/** How many hashes `list` reads per pipeline round trip, and `prune` deletes per script call. */
const BATCH = 500;

/**
 * A `CheckpointStore` in Redis: one hash per run at `<prefix>run:<runId>` (the snapshot JSON plus
 * `workflow`, `status`, `seq`, `rev`, `writer`, `updatedAt`, `version`), the run's journal in the Stream
 * `<prefix>events:<runId>` (entry id `<seq>-0`, field `e` the RunEvent's JSON), and a sorted set
 * `<prefix>runs` scored by `updatedAt` that `list` and `prune` walk. Uses `ioredis`, an optional peer.
 *
 * A save is one Lua script (snapshot and journal delta together) and optimistic, with the rule every
 * store shares (see `PostgresStore`, DESIGN §6.6): accepted when the run is new, when this instance wrote or
 * loaded exactly the stored revision, or — for an instance that never saw the run — when the snapshot's `seq`
 * is higher; otherwise `store_conflict`, and the instance is fenced off the run until it loads it again.
 *
 * Connection failures reject with `store_failed`; a key that is not a sluice checkpoint with
 * `invalid_snapshot` (`snapshot_version` for an unknown version).
 *
 * The client the store creates fails commands fast while the server is unreachable
 * (`maxRetriesPerRequest: 1`, reconnecting every 0.5 s at most) and gives up on a hung server after 10 s
 * (`commandTimeout`) instead of queueing commands indefinitely, so the engine sees `checkpoint_failed`
 * promptly. Override with `redisOptions`.
 *
 * @example
 * ```ts
 * import { RedisStore } from 'sluice/redis';
 * const store = new RedisStore({ url: 'redis://localhost:6379', prefix: 'orders:' });
 * const wf = workflow('orders', { store });
 * const paused = await store.list({ status: 'paused' });
 * await store.close();
 * ```
 */
export class RedisStore implements CheckpointStore {
  readonly prefix: string;
  readonly #redis: Redis | Cluster;
  readonly #owned: boolean;
  readonly #now: () => number;
  readonly #claims: WriterClaims;

  constructor(options: string | RedisStoreOptions = {}) {
    const opts = typeof options === 'string' ? { url: options } : options;
    this.prefix = opts.prefix ?? 'sluice:';
    this.#now = opts.now ?? Date.now;
    this.#claims = new WriterClaims(opts.writerId);
    if (opts.redis !== undefined) {
      this.#redis = opts.redis;
      this.#owned = false;
    } else {
      const client = new Redis(opts.url ?? 'redis://127.0.0.1:6379', {
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        connectTimeout: 5_000,
        commandTimeout: 10_000,
        retryStrategy: (attempt) => Math.min(attempt * 50, 500),
        ...opts.redisOptions,
      });
      // Connection errors surface as rejected commands (store_failed); unhandled they would only be logged.
      client.on('error', () => undefined);
      this.#redis = client;
      this.#owned = true;
    }
  }

  /** The id this instance writes under (the `writer` field). */
  get writerId(): string {
    return this.#claims.writerId;
  }

  async save(snapshot: AnySnapshot, journal?: readonly RunEvent[]): Promise<void> {
    checkSaveable(snapshot, NAME);
    const delta = journalDelta(snapshot, journal, NAME);
    const { runId } = snapshot;
    const claim = this.#claims.get(runId);
    let reply: unknown;
    try {
      const text = JSON.stringify(snapshot);
      const entries = delta.flatMap((ev) => [ev.seq, JSON.stringify(ev)]);
      reply = await runScript(
        this.#redis,
        SAVE,
        [this.#runKey(runId), this.#indexKey(), this.#journalKey(runId)],
        [
          runId,
          snapshot.workflow,
          snapshot.status,
          snapshot.seq,
          this.writerId,
          Math.round(this.#now()),
          text,
          claim === undefined ? '' : claim,
          snapshot.version,
          ...entries,
        ],
      );
    } catch (error) {
      throw asStoreError(error, `${NAME}: cannot save run '${runId}'`);
    }
    const [outcome, a, b] = reply as [string, string | null, string | null];
    if (outcome === 'ok') {
      this.#claims.saw(runId, Number(a));
      return;
    }
    if (outcome === 'conflict') {
      this.#claims.lost(runId);
      throw conflictError(NAME, snapshot, { seq: Number(a), rev: Number(b) });
    }
    throw invalidStored(this.#where(runId), runId, `cannot be overwritten: ${String(a)}`);
  }

  async load(runId: string): Promise<Snapshot | undefined> {
    let reply: unknown;
    try {
      reply = await runScript(this.#redis, LOAD, [this.#runKey(runId)], []);
    } catch (error) {
      throw asStoreError(error, `${NAME}: cannot load run '${runId}'`);
    }
    const [kind, text, rev] = reply as [string, string | null | undefined, string | null | undefined];
    if (kind === 'none') return undefined;
    const where = this.#where(runId);
    if (kind !== 'hash') throw invalidStored(where, runId, `the key holds a ${kind}, not a hash`);
    if (typeof text !== 'string') throw invalidStored(where, runId, 'the hash has no snapshot field');
    const snapshot = storedSnapshot(parseStoredJson(text, where, runId), runId, where);
    const revision = Number(rev);
    if (!Number.isSafeInteger(revision)) throw invalidStored(where, runId, 'the hash has no numeric rev field');
    this.#claims.saw(runId, revision);
    return snapshot;
  }

  async events(runId: string, options?: EventsOptions): Promise<RunEvent[]> {
    const window = eventsWindow(options, NAME);
    let reply: unknown;
    try {
      const limit = Number.isFinite(window.limit) ? window.limit : '';
      reply = await runScript(this.#redis, EVENTS, [this.#runKey(runId), this.#journalKey(runId)], [window.afterSeq, limit]);
    } catch (error) {
      throw asStoreError(error, `${NAME}: cannot read the journal of run '${runId}'`);
    }
    const [seq, v1, ...entries] = reply as [string | undefined, string | null | false | undefined, ...string[]];
    if (seq === undefined) return [];
    const where = this.#where(runId);
    // A version-1 snapshot's history is the start of the journal.
    const history = typeof v1 === 'string' ? storedRun(parseStoredJson(v1, where, runId), runId, where).history : [];
    const journal = entries.map((text) => parseStoredJson(text, `${NAME} key '${this.#journalKey(runId)}'`, runId) as RunEvent);
    return journalWindow([history, journal], Number(seq), window);
  }

  async list(filter: ListFilter = {}): Promise<RunSummary[]> {
    return listed((await this.#summaries()).rows, filter);
  }

  async delete(runId: string): Promise<void> {
    try {
      await runScript(this.#redis, DELETE, [this.#runKey(runId), this.#indexKey(), this.#journalKey(runId)], [runId]);
    } catch (error) {
      throw asStoreError(error, `${NAME}: cannot delete run '${runId}'`);
    }
    this.#claims.forget(runId);
  }

  async prune(filter: PruneFilter = {}): Promise<number> {
    const olderThan = olderThanBound(filter.olderThan);
    if (olderThan === null) return 0;
    const { rows, dangling } = await this.#summaries(olderThan);
    // Index entries whose hash is gone go too; the script removes them without counting them as runs.
    const doomed = rows
      .filter((row) => filter.status === undefined || row.status === filter.status)
      .map((row) => row.runId)
      .concat(dangling);
    let removed = 0;
    try {
      for (let i = 0; i < doomed.length; i += BATCH) {
        const ids = doomed.slice(i, i + BATCH);
        const reply = (await runScript(
          this.#redis,
          PRUNE,
          [this.#indexKey(), ...ids.flatMap((id) => [this.#runKey(id), this.#journalKey(id)])],
          [olderThan ?? '', filter.status ?? '', ...ids],
        )) as string[];
        for (const runId of reply) this.#claims.forget(runId);
        removed += reply.length;
      }
    } catch (error) {
      throw asStoreError(error, `${NAME}: cannot prune`);
    }
    return removed;
  }

  /** Disconnect the client the store created; a client passed in is left alone. */
  async close(): Promise<void> {
    if (this.#owned) this.#redis.disconnect();
  }

  /**
   * Every run's summary (those updated before `olderThan` when given), sorted by `updatedAt` then `runId`,
   * and the index entries whose hash is gone.
   */
  async #summaries(olderThan?: number): Promise<{ rows: RunSummary[]; dangling: string[] }> {
    const rows: RunSummary[] = [];
    const dangling: string[] = [];
    try {
      const ids =
        olderThan === undefined
          ? await this.#redis.zrange(this.#indexKey(), 0, -1)
          : await this.#redis.zrangebyscore(this.#indexKey(), '-inf', `(${olderThan}`);
      for (let i = 0; i < ids.length; i += BATCH) {
        const batch = ids.slice(i, i + BATCH);
        const pipeline = this.#redis.pipeline();
        for (const id of batch) pipeline.hmget(this.#runKey(id), 'workflow', 'status', 'updatedAt');
        const replies = (await pipeline.exec()) ?? [];
        batch.forEach((runId, j) => {
          const row = this.#summary(runId, replies[j]);
          if (row === undefined) dangling.push(runId);
          else rows.push(row);
        });
      }
    } catch (error) {
      throw asStoreError(error, `${NAME}: cannot list runs`);
    }
    rows.sort(byUpdatedAt);
    return { rows, dangling };
  }

  #summary(runId: string, reply: [Error | null, unknown] | undefined): RunSummary | undefined {
    const where = this.#where(runId);
    const [error, fields] = reply ?? [null, undefined];
    if (error !== null) {
      if (error.message.startsWith('WRONGTYPE')) throw invalidStored(where, runId, 'the key is not a hash', error);
      throw error;
    }
    const [workflow, status, updatedAt] = (fields ?? []) as (string | null)[];
    // Deleted between the index read and this one (or by hand): it is simply no longer there.
    if (workflow == null && status == null && updatedAt == null) return undefined;
    const at = Number(updatedAt);
    if (typeof workflow !== 'string' || !isRunStatus(status) || updatedAt == null || !Number.isFinite(at)) {
      throw invalidStored(where, runId, 'the hash lacks a workflow, a known status or a numeric updatedAt');
    }
    return { runId, workflow, status, updatedAt: at };
  }

  #runKey(runId: string): string {
    return `${this.prefix}run:${runId}`;
  }

  /** The run's journal: a Stream with one entry per RunEvent, id `<seq>-0`, field `e` the event's JSON. */
  #journalKey(runId: string): string {
    return `${this.prefix}events:${runId}`;
  }

  #indexKey(): string {
    return `${this.prefix}runs`;
  }

  #where(runId: string): string {
    return `${NAME} key '${this.#runKey(runId)}'`;
  }
}
