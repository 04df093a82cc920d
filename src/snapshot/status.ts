/** Where a run is. The last four are terminal. */
export type RunStatus = 'running' | 'paused' | 'waiting' | 'completed' | 'failed' | 'aborted' | 'timed_out';

export const RUN_STATUSES = ['running', 'paused', 'waiting', 'completed', 'failed', 'aborted', 'timed_out'] as const satisfies readonly RunStatus[];

const KNOWN: ReadonlySet<string> = new Set(RUN_STATUSES);

export const isRunStatus = (value: unknown): value is RunStatus => typeof value === 'string' && KNOWN.has(value);

export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'aborted', 'timed_out']);

export const isTerminal = (status: RunStatus): boolean => TERMINAL_STATUSES.has(status);
