/** Where a run is. The last four are terminal. */
export type RunStatus = 'running' | 'paused' | 'waiting' | 'completed' | 'failed' | 'aborted' | 'timed_out';

export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'aborted', 'timed_out']);

export const isTerminal = (status: RunStatus): boolean => TERMINAL_STATUSES.has(status);
