export { Dispatcher } from './Dispatcher.js';
export type { DispatcherOptions, RemoteRun } from './Dispatcher.js';
export { worker, RunWorker } from './RunWorker.js';
export type { RunWorkerOptions } from './RunWorker.js';
export type { Connection } from './connection.js';
export type { ControlOp, JobData, JobKind, JobOutcome, ResultRecord } from './protocol.js';
export type { FailedRun, ScheduleInfo, ScheduleOptions, ScheduleTiming } from './schedules.js';
