// The run's statuses live with the snapshot that stores them (a lower layer); re-exported for the run's users.
export { isRunStatus, isTerminal, RUN_STATUSES, TERMINAL_STATUSES } from '../snapshot/status.js';
export type { RunStatus } from '../snapshot/status.js';
