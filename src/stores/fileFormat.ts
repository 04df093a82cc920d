import { open, readFile } from 'node:fs/promises';
import { WorkflowError } from '../errors/WorkflowError.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import { isRunStatus, storedRun } from './shared.js';

/* The FileStore's file format: run-file header, names, and the journal cut. */

/** What a run file says before its snapshot. Files written before version 2 have only `updatedAt`. */
export interface Header {
  updatedAt: number;
  rev: number;
  writer: string;
  seq: number;
  /** How much of the journal file this checkpoint covers, and the seq of its last entry. */
  journalBytes: number;
  journalSeq: number;
}

/** `encodeURIComponent` escapes `/`, `\` and `%`, so no run id can name a path outside the directory. */
export const encode = (runId: string): string => encodeURIComponent(runId);

export function decode(name: string): string | undefined {
  try {
    const runId = decodeURIComponent(name);
    return encode(runId) === name ? runId : undefined;
  } catch {
    return undefined;
  }
}

export function headerOf(value: unknown, seq: number | undefined): Header | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const num = (key: string, fallback?: number): number | undefined =>
    typeof v[key] === 'number' && Number.isFinite(v[key]) ? v[key] : fallback;
  const updatedAt = num('updatedAt');
  const storedSeq = num('seq', seq);
  if (updatedAt === undefined || storedSeq === undefined) return undefined;
  return {
    updatedAt,
    // A file written before version 2 has no revision: revision 0, by nobody.
    rev: num('rev', 0) as number,
    writer: typeof v['writer'] === 'string' ? v['writer'] : '',
    seq: storedSeq,
    journalBytes: num('journalBytes', 0) as number,
    journalSeq: num('journalSeq', 0) as number,
  };
}

/** Cut the journal after its last entry with seq ≤ `seq` (a writer saving an older snapshot of its run). */
export async function cutAt(file: string, bytes: number, seq: number): Promise<{ journalBytes: number; journalSeq: number }> {
  const text = (await readFile(file)).subarray(0, bytes).toString('utf8');
  let journalBytes = 0;
  let journalSeq = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const ev = safeParse(line) as { seq?: unknown } | undefined;
    if (typeof ev?.seq !== 'number' || ev.seq > seq) break;
    journalBytes += Buffer.byteLength(line) + 1;
    journalSeq = ev.seq;
  }
  return { journalBytes, journalSeq };
}

export function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function invalid(file: string, message: string): WorkflowError {
  return new WorkflowError('invalid_snapshot', `${file}: ${message}`, { details: { file } });
}

/** Keep the code (`invalid_snapshot` / `snapshot_version`) and say which file it was. */
export function withFile(error: unknown, file: string): unknown {
  if (!WorkflowError.is(error)) return error;
  return new WorkflowError(error.code, error.message, { cause: error.cause, details: { ...error.details, file } });
}

/** The file does not exist — or cannot: a name too long for the file system (a hostile run id looked up) names no file. */
export function isMissing(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return code === 'ENOENT' || code === 'ENAMETOOLONG';
}

/** The first `bytes` bytes of a file as text, or `undefined` when it does not exist. */
export async function readHead(file: string, bytes: number): Promise<string | undefined> {
  try {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(bytes);
      const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
      return buffer.toString('utf8', 0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** A journal's text (NDJSON, one RunEvent a line) as RunEvents; a line that is not JSON is `invalid_snapshot`. */
export function parseJournal(text: string, file: string, runId: string): RunEvent[] {
  const out: RunEvent[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const ev = safeParse(line);
    if (typeof ev !== 'object' || ev === null) throw invalid(file, `a journal line of run '${runId}' is not JSON`);
    out.push(ev as RunEvent);
  }
  return out;
}

/** The FileStore's default logger for what it skips or cleans up: one line on stderr. */
export const stderrWarn = {
  warn(fields: Record<string, unknown>, message: string): void {
    console.warn(`sluice FileStore: ${message}`, fields);
  },
};

/** A checkpoint file read back: its header, the snapshot as version 2, and a version-1 snapshot's history. */
export interface StoredRecord {
  header: Header;
  snapshot: Snapshot;
  history: RunEvent[];
}

/** Pure: a run file's text as a checkpoint of `runId`, or `invalid_snapshot` naming the file. */
export function parseRunFile(text: string, file: string, runId: string): StoredRecord {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    throw new WorkflowError('invalid_snapshot', `${file}: not valid JSON`, { cause: error, details: { file } });
  }
  if (typeof value !== 'object' || value === null || !('snapshot' in value)) {
    throw invalid(file, 'not a sluice checkpoint file: the `snapshot` field is missing');
  }
  let read: { snapshot: Snapshot; history: RunEvent[] };
  try {
    read = storedRun(value.snapshot, runId, file);
  } catch (error) {
    throw withFile(error, file);
  }
  const header = headerOf(value, read.snapshot.seq);
  if (header === undefined || !isRunStatus(read.snapshot.status)) throw invalid(file, 'has no numeric updatedAt');
  return { header, ...read };
}
