// Events
export { event, isEvent, StartEvent, StopEvent, InputRequestEvent, InputResponseEvent } from './events/event.js';
export type { EventType, WorkflowEvent, DataOf, EventOf } from './events/event.js';
export type { Envelope } from './events/envelope.js';

// Workflows
export { Workflow } from './workflow/workflow.js';
export { workflow } from './workflow/builder.js';
export type { RunOptions, ResumeOptions, RunArgs } from './workflow/workflow.js';
export type { UntypedWorkflowOptions } from './workflow/builder.js';
export { recover } from './ops/recover.js';
export type { RecoverOptions } from './ops/recover.js';
export type { WorkflowLike } from './ops/registry.js';
export type {
  Acceptable,
  AcceptedEvent,
  StepOptions,
  PipeOptions,
  StepHandler,
  PipeOperator,
  StepReturn,
  WorkflowOptions,
  StateSchema,
} from './workflow/types.js';
export type { RetryPolicy } from './workflow/types.js';
export type { SubworkflowOptions, Branch } from './workflow/compose.js';
export type { ConcurrencyOption, RateLimitOption, DebounceOption, FlowOptions, FlowKey } from './workflow/flowOptions.js';

// Steps' view
export type { StepContext, InputRequestOptions, WaitForOptions } from './context/types.js';
export type { RunState, TypedRunState, UntypedRunState, StateShape } from './context/state.js';

// Runs
export { runWorkflow } from './run/operators/runWorkflow.js';
export type { RunWorkflowOptions } from './run/operators/runWorkflow.js';
export type { RunHandle } from './run/RunHandle.js';
export type { RunStatus } from './run/status.js';
export type { RunEvent, RunEventKind, RunEventOf } from './telemetry/runEvent.js';

// Snapshots and stores
export { parseSnapshot, parseAnySnapshot, readSnapshot, SNAPSHOT_VERSION, SNAPSHOT_VERSIONS } from './snapshot/schema.js';
export type {
  Snapshot,
  SnapshotV1,
  SnapshotV2,
  AnySnapshot,
  SnapshotOutcome,
  InFlightEntry,
  WaitingEntry,
  WaitEntry,
  DurableWait,
} from './snapshot/schema.js';
export { MemoryStore, FileStore } from './stores/index.js';
export type { MemoryStoreOptions, FileStoreOptions } from './stores/index.js';
export type { CheckpointStore, RunSummary, ListFilter, PruneFilter, EventsOptions } from './stores/CheckpointStore.js';

// Errors
export { WorkflowError, NonRetryableError } from './errors/WorkflowError.js';
export type { WorkflowErrorCode, ErrorInfo, WorkflowErrorOptions } from './errors/WorkflowError.js';
