// sluice/http: an HTTP API and a live run inspector for registered workflows (needs hono and @hono/node-server).
export { createSluiceApp } from './app.js';
export type { SluiceApp, SluiceAppOptions } from './app.js';
export { serve } from './server.js';
export type { ServeOptions, SluiceServer } from './server.js';
export { RunRegistry } from './runs.js';
export type { RunRow } from './runs.js';
export type { RunView, RunsPage, RunsQuery } from './views.js';
export { describeWorkflow } from './graph.js';
export type { WorkflowView, StepView, EdgeView } from './graph.js';
export { HttpError } from './errors.js';
export type { HttpErrorCode, HttpErrorBody } from './errors.js';
