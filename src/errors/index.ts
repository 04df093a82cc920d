export { WorkflowError, NonRetryableError, describeThrown, asStoreError } from './WorkflowError.js';
export type { WorkflowErrorCode, ErrorInfo, WorkflowErrorOptions } from './WorkflowError.js';
