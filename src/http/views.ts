import type { ErrorInfo } from '../errors/WorkflowError.js';
import { isTerminal, type RunStatus } from '../snapshot/status.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import type { RunRegistry, RunRow } from './runs.js';

/** `GET /api/runs/:id`: the run, with its outcome at the top level (`result` once completed, `error` once failed). */
export interface RunView {
  runId: string;
  workflow: string;
  status: RunStatus;
  live: boolean;
  createdAt: number;
  /** When the run last changed (its last RunEvent). */
  updatedAt: number;
  result?: unknown;
  error?: ErrorInfo;
  /** The run is idle (its last RunEvent, checkpoints aside, is `run_idle`): since when, and the step named. */
  idle?: IdleView;
  snapshot: Snapshot;
}

/** An idle run (DESIGN §6.6 "Idle"): nothing left to do and no StopEvent; `lastStep` completed without output. */
export interface IdleView {
  since: number;
  lastStep?: string;
}

/** What a snapshot may carry of the run's end: `outcome` (snapshot version 2) or the history's last event (version 1). */
interface Ended {
  outcome?: { result: unknown } | { error: ErrorInfo };
  history?: readonly RunEvent[];
  elapsedMs?: number;
}

export function runView(snapshot: Snapshot, live: boolean): RunView {
  const ended = snapshot as Snapshot & Ended;
  const history = ended.history ?? [];
  const last = history[history.length - 1];
  const view: RunView = {
    runId: snapshot.runId,
    workflow: snapshot.workflow,
    status: snapshot.status,
    live,
    createdAt: snapshot.createdAt,
    updatedAt: last?.at ?? snapshot.createdAt + (ended.elapsedMs ?? 0),
    snapshot,
  };
  // A retried run is running again: the outcome of its earlier attempt is not its outcome.
  const outcome = isTerminal(snapshot.status) ? (ended.outcome ?? outcomeOf(history)) : undefined;
  if (outcome !== undefined && 'result' in outcome) view.result = outcome.result;
  if (outcome !== undefined && 'error' in outcome) view.error = outcome.error;
  const idle = idleOf(snapshot);
  if (idle !== undefined) view.idle = idle;
  return view;
}

/** Whether the run is idle now (its snapshot says since when, and the step named). */
export function idleOf(snapshot: Snapshot): IdleView | undefined {
  return isTerminal(snapshot.status) ? undefined : snapshot.idle;
}

function outcomeOf(history: readonly RunEvent[]): Ended['outcome'] {
  for (let i = history.length - 1; i >= 0; i--) {
    const ev = history[i]!;
    if (ev.kind === 'run_completed') return { result: ev.result };
    if (ev.kind === 'run_failed' || ev.kind === 'run_aborted' || ev.kind === 'run_timed_out') return { error: ev.error };
  }
  return undefined;
}

/** `GET /api/runs` query: filters, a search over run id and workflow, and a page. */
export interface RunsQuery {
  workflow?: string;
  status?: RunStatus;
  /** Case-insensitive substring of the run id or the workflow name. */
  q?: string;
  limit?: number;
  offset?: number;
}

/** `GET /api/runs`: one page of runs (newest first), how many match, and per status how many match the rest of the query. */
export interface RunsPage {
  runs: (RunRow & { createdAt?: number; idle?: IdleView })[];
  total: number;
  offset: number;
  limit: number | null;
  counts: Partial<Record<RunStatus, number>>;
}

/**
 * One page of the runs list. Without `limit` every matching run is returned (as before pages existed); with
 * it, the rows of the page also carry `createdAt` and, for an idle run, `idle` (read from each run's snapshot:
 * O(page), not O(runs)).
 */
export async function pageOfRuns(registry: RunRegistry, query: RunsQuery): Promise<RunsPage> {
  const needle = query.q?.toLowerCase();
  const all = (await registry.list(query.workflow === undefined ? {} : { workflow: query.workflow })).filter(
    (row) => needle === undefined || row.runId.toLowerCase().includes(needle) || row.workflow.toLowerCase().includes(needle),
  );
  const counts: Partial<Record<RunStatus, number>> = {};
  for (const row of all) counts[row.status] = (counts[row.status] ?? 0) + 1;
  const matching = query.status === undefined ? all : all.filter((row) => row.status === query.status);
  const offset = query.offset ?? 0;
  if (query.limit === undefined) return { runs: matching.slice(offset), total: matching.length, offset, limit: null, counts };
  const rows = matching.slice(offset, offset + query.limit);
  const runs = await Promise.all(
    rows.map(async (row) => {
      const snapshot = await registry.snapshot(row.runId).then(
        (view) => view.snapshot,
        () => undefined, // deleted between list and load: the row stays, without its start time
      );
      if (snapshot === undefined) return row;
      const idle = idleOf(snapshot);
      return idle === undefined ? { ...row, createdAt: snapshot.createdAt } : { ...row, createdAt: snapshot.createdAt, idle };
    }),
  );
  return { runs, total: matching.length, offset, limit: query.limit, counts };
}
