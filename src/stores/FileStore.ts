import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { WorkflowError, asStoreError, describeThrown } from '../errors/WorkflowError.js';
import { parseSnapshot, snapshotSchema, type Snapshot } from '../snapshot/schema.js';
import type { CheckpointStore, ListFilter, PruneFilter, RunSummary } from './CheckpointStore.js';
import { checkSaveable } from './checkSaveable.js';

export interface FileStoreOptions {
  /** Clock stamping `updatedAt` (epoch ms); tests inject one instead of sleeping. Defaults to `Date.now`. */
  now?: () => number;
  /** Told about files `list`/`prune` skip (not sluice checkpoints) and temp files cleaned up (default: stderr). */
  logger?: { warn(fields: Record<string, unknown>, message: string): void };
}

const stderrWarn = {
  warn(fields: Record<string, unknown>, message: string) {
    console.warn(`sluice FileStore: ${message}`, fields);
  },
};

const RUN_SUFFIX = '.json';
const TEMP_SUFFIX = '.tmp';
/** How many files `list`/`prune` touch at once, so a large directory cannot exhaust file descriptors. */
const IO_BATCH = 32;

/** Just what `list` needs; `load` checks the whole snapshot with `parseSnapshot`. */
const summarySchema = z.object({
  updatedAt: z.number(),
  snapshot: snapshotSchema.pick({ runId: true, workflow: true, status: true }),
});

/**
 * A `CheckpointStore` keeping one JSON file per run in a directory: the embedded default, with no
 * dependency beyond `node:fs`. Each file is `<encodeURIComponent(runId)>.json` holding `{ updatedAt, snapshot }`.
 *
 * Writes go to a unique temp file in the same directory and are then renamed over the run's file, so a
 * reader never sees half a snapshot and concurrent saves of one run leave whichever rename came last.
 * The directory is created on the first save. I/O failures reject with `store_failed`; a file that is not
 * a snapshot rejects with `invalid_snapshot` (or `snapshot_version` on `load`).
 *
 * @example
 * ```ts
 * const store = new FileStore('./.sluice');
 * await store.save(run.snapshot());
 * const snap = await store.load(runId);                      // undefined when missing
 * const removed = await store.prune({ status: 'completed' }); // how many runs were deleted
 * ```
 */
export class FileStore implements CheckpointStore {
  readonly dir: string;
  readonly #now: () => number;
  readonly #log: NonNullable<FileStoreOptions['logger']>;
  #ready: Promise<unknown> | undefined;
  /** Temp files left by processes killed mid-save are removed once, when the store starts. */
  readonly #swept: Promise<void>;

  constructor(dir: string, options: FileStoreOptions = {}) {
    this.dir = dir;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? stderrWarn;
    this.#swept = sweepTemps(dir, this.#log);
  }

  async save(snapshot: Snapshot): Promise<void> {
    checkSaveable(snapshot, 'FileStore');
    const name = fileName(snapshot.runId);
    const what = `FileStore: cannot save run '${snapshot.runId}' in ${this.dir}`;
    // pid + random keeps temp names unique across concurrent saves in this process and in others.
    const temp = join(this.dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
    try {
      const text = JSON.stringify({ updatedAt: this.#now(), snapshot });
      await this.#swept;
      await this.#ensureDir();
      await writeFile(temp, text, { flag: 'wx' });
      await rename(temp, join(this.dir, name));
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw asStoreError(error, what);
    }
  }

  async load(runId: string): Promise<Snapshot | undefined> {
    const name = fileName(runId);
    const text = await this.#read(name);
    if (text === undefined) return undefined;
    const record = parseJson(text, this.#path(name));
    if (typeof record !== 'object' || record === null || !('snapshot' in record)) {
      throw invalid(this.#path(name), 'not a sluice checkpoint file: the `snapshot` field is missing');
    }
    let snapshot: Snapshot;
    try {
      snapshot = parseSnapshot(record.snapshot);
    } catch (error) {
      throw withFile(error, this.#path(name));
    }
    if (snapshot.runId !== runId) {
      // A file copied or renamed by hand would otherwise hand back another run under this id.
      throw invalid(this.#path(name), `holds run '${snapshot.runId}', not '${runId}'`);
    }
    return snapshot;
  }

  async list(filter: ListFilter = {}): Promise<RunSummary[]> {
    const rows: RunSummary[] = [];
    for (const row of await this.#summaries()) {
      if (filter.workflow !== undefined && row.workflow !== filter.workflow) continue;
      if (filter.status !== undefined && row.status !== filter.status) continue;
      rows.push(row);
    }
    return rows;
  }

  async delete(runId: string): Promise<void> {
    await this.#remove(fileName(runId), runId);
  }

  async prune(filter: PruneFilter = {}): Promise<number> {
    const doomed = (await this.#summaries()).filter(
      (row) =>
        (filter.olderThan === undefined || row.updatedAt < filter.olderThan) &&
        (filter.status === undefined || row.status === filter.status),
    );
    let removed = 0;
    for (const batch of chunks(doomed, IO_BATCH)) {
      const done = await Promise.all(batch.map((row) => this.#remove(fileName(row.runId), row.runId)));
      removed += done.filter(Boolean).length;
    }
    return removed;
  }

  /** Every run's summary, sorted by `updatedAt` then `runId` so the order never depends on the file system. */
  async #summaries(): Promise<RunSummary[]> {
    await this.#swept;
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if (isMissing(error)) return [];
      throw asStoreError(error, `FileStore: cannot list ${this.dir}`);
    }
    // Temp files end in `.tmp`, so this also skips saves that are still being written.
    const runFiles = names.filter((name) => name.endsWith(RUN_SUFFIX));
    const rows: RunSummary[] = [];
    for (const batch of chunks(runFiles, IO_BATCH)) {
      for (const row of await Promise.all(batch.map((name) => this.#summary(name)))) {
        if (row !== undefined) rows.push(row);
      }
    }
    return rows.sort((a, b) => a.updatedAt - b.updatedAt || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
  }

  /** One run's summary; a file that is not one of this store's checkpoints is skipped (and logged), never fatal. */
  async #summary(name: string): Promise<RunSummary | undefined> {
    const skip = (reason: string) => {
      this.#log.warn({ dir: this.dir, file: name, reason }, `skipped ${name}: not a sluice checkpoint of this store`);
      return undefined;
    };
    let text: string | undefined;
    try {
      text = await this.#read(name);
    } catch (error) {
      return skip(describeThrown(error));
    }
    // Deleted between readdir and read: it is simply no longer there.
    if (text === undefined) return undefined;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      return skip('not valid JSON');
    }
    const parsed = summarySchema.safeParse(record);
    if (!parsed.success) return skip(z.prettifyError(parsed.error));
    const { updatedAt, snapshot } = parsed.data;
    if (fileName(snapshot.runId) !== name) return skip(`holds run '${snapshot.runId}', whose file would be ${fileName(snapshot.runId)}`);
    return { runId: snapshot.runId, workflow: snapshot.workflow, status: snapshot.status, updatedAt };
  }

  /** The file's text, or `undefined` when it does not exist. */
  async #read(name: string): Promise<string | undefined> {
    try {
      return await readFile(this.#path(name), 'utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw asStoreError(error, `FileStore: cannot read ${this.#path(name)}`);
    }
  }

  /** Resolves whether this call removed the file (false when it was already gone). */
  async #remove(name: string, runId: string): Promise<boolean> {
    try {
      await unlink(this.#path(name));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw asStoreError(error, `FileStore: cannot delete run '${runId}' from ${this.dir}`);
    }
  }

  #ensureDir(): Promise<unknown> {
    // Remember only success, so a directory that becomes writable later is picked up on the next save.
    this.#ready ??= mkdir(this.dir, { recursive: true }).catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  #path(name: string): string {
    return join(this.dir, name);
  }
}

/** `encodeURIComponent` escapes `/`, `\` and `%`, so no run id can name a path outside the directory. */
function fileName(runId: string): string {
  return `${encodeURIComponent(runId)}${RUN_SUFFIX}`;
}

/** Temp files are `.<run file>.<pid>.<random>.tmp`: remove those of processes no longer alive. */
async function sweepTemps(dir: string, log: NonNullable<FileStoreOptions['logger']>): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return; // no directory yet: nothing left over
  }
  const stale = names.filter((name) => {
    const m = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name);
    return m !== null && !isAlive(Number(m[1]));
  });
  await Promise.all(stale.map((name) => unlink(join(dir, name)).catch(() => undefined)));
  if (stale.length > 0) log.warn({ dir, files: stale.length }, `removed ${stale.length} temp file(s) left by killed processes`);
}

/** Is a process with this id running? Our own id counts as alive (another store here may be mid-save). */
function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new WorkflowError('invalid_snapshot', `${file}: not valid JSON`, { cause: error, details: { file } });
  }
}

function invalid(file: string, message: string): WorkflowError {
  return new WorkflowError('invalid_snapshot', `${file}: ${message}`, { details: { file } });
}

/** Keep `parseSnapshot`'s code (`invalid_snapshot` / `snapshot_version`) and say which file it was. */
function withFile(error: unknown, file: string): unknown {
  if (!(WorkflowError.is(error))) return error;
  return new WorkflowError(error.code, `${file}: ${error.message}`, {
    cause: error.cause,
    details: { ...error.details, file },
  });
}

function isMissing(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
