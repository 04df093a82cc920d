import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile, readdir, rename, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowError, asStoreError, describeThrown } from '../errors/WorkflowError.js';
import type { AnySnapshot, Snapshot } from '../snapshot/schema.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import type { CheckpointStore, EventsOptions, ListFilter, PruneFilter, RunSummary } from './CheckpointStore.js';
import { type Header, type StoredRecord, cutAt, parseRunFile, decode, encode, headerOf, invalid, isMissing, parseJournal, readHead, safeParse, stderrWarn } from './fileFormat.js';
import { KeyedQueue, acquireLock, sweepTemps } from './fileLock.js';
import {
  WriterClaims,
  checkSaveable,
  conflictError,
  eventsWindow,
  journalDelta,
  journalWindow,
  listed,
  pruneMatches,
  rememberSuccess,
} from './shared.js';

export interface FileStoreOptions {
  /** Clock stamping `updatedAt` (epoch ms); tests inject one instead of sleeping. Defaults to `Date.now`. */
  now?: () => number;
  /** Told about files `list`/`prune` skip (not sluice checkpoints) and temp files cleaned up (default: stderr). */
  logger?: { warn(fields: Record<string, unknown>, message: string): void };
  /** This instance's writer id for the conflict check; a random UUID by default. */
  writerId?: string;
}

const RUN_SUFFIX = '.json';
const JOURNAL_SUFFIX = '.journal.ndjson';
const LOCK_SUFFIX = '.lock';
const TEMP_SUFFIX = '.tmp';
/** How many files `list`/`prune` touch at once, so a large directory cannot exhaust file descriptors. */
const IO_BATCH = 32;
/** The header fields come first in a run file, so a save reads only this much of the file before it. */
const HEADER_BYTES = 4_096;

const NAME = 'FileStore';

/**
 * A `CheckpointStore` keeping files per run in a directory: the embedded default, with no dependency beyond
 * `node:fs`. `<encodeURIComponent(runId)>.json` holds `{ updatedAt, rev, writer, seq, journalBytes,
 * journalSeq, snapshot }`; `<…>.journal.ndjson` is the run's journal, one RunEvent per line, append-only.
 *
 * A save appends the journal delta, then writes the snapshot to a unique temp file and renames it over the
 * run's file, so a reader never sees half a snapshot. The run file says how many journal bytes it covers:
 * what a crash left appended beyond that is never read, and the next save cuts it off before appending.
 *
 * Saves are optimistic, like the server stores' (DESIGN §6.6): a save is accepted when the run is new, when
 * this instance wrote or loaded exactly the stored revision, or — for an instance that never saw the run —
 * when the snapshot's seq is higher; otherwise it rejects with `store_conflict`. Processes sharing the
 * directory take turns on a run through a lock file (`<…>.lock`, created exclusively; one left by a dead
 * process is taken over), so two processes recovering one run cannot both advance it.
 *
 * The directory is created on the first save. I/O failures reject with `store_failed`; a file that is not
 * a snapshot rejects with `invalid_snapshot` (or `snapshot_version` on `load`).
 *
 * @example
 * ```ts
 * import { FileStore } from 'sluice';
 * const store = new FileStore('./.sluice');
 * const snap = await store.load('order-42');                  // undefined when missing
 * const journal = await store.events('order-42');             // every RunEvent the checkpoints covered
 * const removed = await store.prune({ status: 'completed' }); // how many runs were deleted
 * ```
 */
export class FileStore implements CheckpointStore {
  readonly dir: string;
  readonly #now: () => number;
  readonly #log: NonNullable<FileStoreOptions['logger']>;
  /** Temp files left by processes killed mid-save are removed once, when the store starts. */
  readonly #swept: Promise<void>;
  readonly #claims: WriterClaims;
  readonly #queue = new KeyedQueue();
  readonly #ensureDir: () => Promise<unknown>;

  constructor(dir: string, options: FileStoreOptions = {}) {
    this.dir = dir;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? stderrWarn;
    this.#swept = sweepTemps(dir).then((n) => {
      if (n > 0) this.#log.warn({ dir, files: n }, `removed ${n} temp file(s) left by killed processes`);
    });
    this.#claims = new WriterClaims(options.writerId);
    this.#ensureDir = rememberSuccess(() => mkdir(dir, { recursive: true }));
  }

  /** The id this instance writes under (the `writer` field). */
  get writerId(): string {
    return this.#claims.writerId;
  }

  async save(snapshot: AnySnapshot, journal?: readonly RunEvent[]): Promise<void> {
    checkSaveable(snapshot, NAME);
    const delta = journalDelta(snapshot, journal, NAME);
    return this.#queue.run(snapshot.runId, () => this.#save(snapshot, delta));
  }

  async #save(snapshot: AnySnapshot, delta: readonly RunEvent[]): Promise<void> {
    const { runId } = snapshot;
    const name = encode(runId);
    const what = `${NAME}: cannot save run '${runId}' in ${this.dir}`;
    // pid + random keeps temp names unique across concurrent saves in this process and in others.
    const temp = this.#path(`.${name}${RUN_SUFFIX}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
    let release: (() => Promise<void>) | undefined;
    try {
      await this.#swept;
      await this.#ensureDir();
      release = await acquireLock(this.#path(name + LOCK_SUFFIX));
      const stored = await this.#header(name, runId);
      if (!this.#claims.accepts(snapshot, stored)) {
        this.#claims.lost(runId);
        throw conflictError(NAME, snapshot, stored);
      }
      const journalFile = this.#path(name + JOURNAL_SUFFIX);
      let { journalBytes, journalSeq } = stored ?? { journalBytes: 0, journalSeq: 0 };
      if (journalSeq > snapshot.seq) ({ journalBytes, journalSeq } = await cutAt(journalFile, journalBytes, snapshot.seq));
      const lines = delta.filter((ev) => ev.seq > journalSeq).map((ev) => `${JSON.stringify(ev)}\n`).join('');
      if (lines.length > 0) {
        // Whatever a crash left beyond the covered bytes goes first, so no seq is ever written twice.
        await truncate(journalFile, journalBytes).catch((error: unknown) => {
          if (!isMissing(error)) throw error;
        });
        await appendFile(journalFile, lines);
        journalBytes += Buffer.byteLength(lines);
        journalSeq = (delta.at(-1) as RunEvent).seq;
      }
      const header: Header = {
        updatedAt: this.#now(),
        rev: (stored?.rev ?? 0) + 1,
        writer: this.writerId,
        seq: snapshot.seq,
        journalBytes,
        journalSeq,
      };
      await writeFile(temp, JSON.stringify({ ...header, snapshot }), { flag: 'wx' });
      await rename(temp, this.#path(name + RUN_SUFFIX));
      this.#claims.saw(runId, header.rev);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw asStoreError(error, what);
    } finally {
      await release?.();
    }
  }

  async load(runId: string): Promise<Snapshot | undefined> {
    const record = await this.#record(encode(runId), runId);
    if (record === undefined) return undefined;
    this.#claims.saw(runId, record.header.rev);
    return record.snapshot;
  }

  async events(runId: string, options?: EventsOptions): Promise<RunEvent[]> {
    const window = eventsWindow(options, NAME);
    const name = encode(runId);
    const record = await this.#record(name, runId);
    if (record === undefined) return [];
    const { header, history } = record;
    const journal = header.journalBytes === 0 ? [] : await this.#journal(name, runId, header.journalBytes);
    return journalWindow([history, journal], header.seq, window);
  }

  async list(filter: ListFilter = {}): Promise<RunSummary[]> {
    return listed(await this.#summaries(), filter);
  }

  async delete(runId: string): Promise<void> {
    await this.#remove(encode(runId), runId);
    this.#claims.forget(runId);
  }

  async prune(filter: PruneFilter = {}): Promise<number> {
    const doomed = (await this.#summaries()).filter((row) => pruneMatches(row, filter));
    let removed = 0;
    for (let i = 0; i < doomed.length; i += IO_BATCH) {
      const batch = doomed.slice(i, i + IO_BATCH);
      const done = await Promise.all(batch.map((row) => this.#remove(encode(row.runId), row.runId)));
      for (const row of batch) this.#claims.forget(row.runId);
      removed += done.filter(Boolean).length;
    }
    return removed;
  }

  /** Every run's summary (unsorted). */
  async #summaries(): Promise<RunSummary[]> {
    await this.#swept;
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if (isMissing(error)) return [];
      throw asStoreError(error, `${NAME}: cannot list ${this.dir}`);
    }
    // Temp files end in `.tmp`, journals in `.ndjson`, locks in `.lock`: only run files end in `.json`.
    const runFiles = names.filter((name) => name.endsWith(RUN_SUFFIX));
    const rows: RunSummary[] = [];
    for (let i = 0; i < runFiles.length; i += IO_BATCH) {
      const batch = runFiles.slice(i, i + IO_BATCH).map((file) => this.#summary(file.slice(0, -RUN_SUFFIX.length)));
      for (const row of await Promise.all(batch)) if (row !== undefined) rows.push(row);
    }
    return rows;
  }

  /** One run's summary; a file that is not one of this store's checkpoints is skipped (and logged), never fatal. */
  async #summary(name: string): Promise<RunSummary | undefined> {
    const runId = decode(name);
    let record: StoredRecord | undefined;
    try {
      record = await this.#record(name, runId === undefined ? name : runId, runId === undefined);
    } catch (error) {
      if (!WorkflowError.is(error) || error.code === 'store_failed') throw error;
      this.#log.warn({ dir: this.dir, file: name, reason: describeThrown(error) }, `skipped ${name}: not a sluice checkpoint of this store`);
      return undefined;
    }
    // Deleted between readdir and read: it is simply no longer there.
    if (record === undefined) return undefined;
    const { snapshot, header } = record;
    return { runId: snapshot.runId, workflow: snapshot.workflow, status: snapshot.status, updatedAt: header.updatedAt };
  }

  /** The run file parsed and checked, or `undefined` when there is none. */
  async #record(name: string, runId: string, badName = false): Promise<StoredRecord | undefined> {
    const file = this.#path(name + RUN_SUFFIX);
    const text = await this.#read(file);
    if (text === undefined) return undefined;
    if (badName) throw invalid(file, 'is not named after a run id');
    return parseRunFile(text, file, runId);
  }

  /** The header of the stored run file, reading only its start (the whole file for older files). */
  async #header(name: string, runId: string): Promise<Header | undefined> {
    const file = this.#path(name + RUN_SUFFIX);
    const start = await readHead(file, HEADER_BYTES);
    if (start === undefined) return undefined;
    const end = start.indexOf(',"snapshot":');
    if (end > 0) {
      const header = headerOf(safeParse(`${start.slice(0, end)}}`), undefined);
      if (header !== undefined) return header;
    }
    return (await this.#record(name, runId))?.header;
  }

  /** The journal's first `bytes` bytes, parsed line by line. */
  async #journal(name: string, runId: string, bytes: number): Promise<RunEvent[]> {
    const file = this.#path(name + JOURNAL_SUFFIX);
    const text = (await this.#read(file, bytes)) ?? '';
    return parseJournal(text, file, runId);
  }

  /** The file's text (its first `bytes` bytes when given), or `undefined` when it does not exist. */
  async #read(file: string, bytes?: number): Promise<string | undefined> {
    try {
      return bytes === undefined ? await readFile(file, 'utf8') : await readHead(file, bytes);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw asStoreError(error, `${NAME}: cannot read ${file}`);
    }
  }

  /** Resolves whether this call removed the run (false when it was already gone). */
  async #remove(name: string, runId: string): Promise<boolean> {
    const gone = async (file: string): Promise<boolean> => {
      try {
        await unlink(this.#path(file));
        return true;
      } catch (error) {
        if (isMissing(error)) return false;
        throw asStoreError(error, `${NAME}: cannot delete run '${runId}' from ${this.dir}`);
      }
    };
    const removed = await gone(name + RUN_SUFFIX);
    await gone(name + JOURNAL_SUFFIX);
    return removed;
  }

  #path(file: string): string {
    return join(this.dir, file);
  }
}
