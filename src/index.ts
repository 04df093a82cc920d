// Events
export { event, isEvent, StartEvent, StopEvent, InputRequestEvent, InputResponseEvent } from './events/event.js';
export type { EventType, WorkflowEvent, DataOf, EventOf } from './events/event.js';
export type { Envelope } from './events/envelope.js';

// Workflows
export { workflow, Workflow } from './workflow/workflow.js';
export type { RunOptions, ResumeOptions } from './workflow/workflow.js';
export type {
  Acceptable,
  AcceptedEvent,
  StepOptions,
  PipeOptions,
  StepHandler,
  PipeOperator,
  StepReturn,
  WorkflowOptions,
} from './workflow/types.js';
export type { RetryPolicy } from './workflow/types.js';
export type { SubworkflowOptions, Branch } from './workflow/compose.js';
export type { ConcurrencyOption, RateLimitOption, DebounceOption, FlowOptions, FlowKey } from './workflow/flowOptions.js';

// Steps' view
export type { StepContext, InputRequestOptions, WaitForOptions } from './context/types.js';
export type { RunState } from './context/state.js';

// Runs
export { runWorkflow } from './run/operators/runWorkflow.js';
export type { RunWorkflowOptions } from './run/operators/runWorkflow.js';
export type { RunHandle } from './run/RunHandle.js';
export type { RunStatus } from './run/status.js';
export type { RunEvent, RunEventKind, RunEventOf } from './telemetry/runEvent.js';

// Snapshots and stores
export { parseSnapshot, SNAPSHOT_VERSION } from './snapshot/schema.js';
export type { Snapshot, InFlightEntry, WaitingEntry, DurableWait } from './snapshot/schema.js';
export { MemoryStore, FileStore } from './stores/index.js';
export type { MemoryStoreOptions, FileStoreOptions } from './stores/index.js';
export type { CheckpointStore, RunSummary, ListFilter, PruneFilter } from './stores/CheckpointStore.js';

// Errors
export { WorkflowError } from './errors/WorkflowError.js';
export type { WorkflowErrorCode, ErrorInfo } from './errors/WorkflowError.js';
