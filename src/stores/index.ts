export { MemoryStore } from './MemoryStore.js';
export type { MemoryStoreOptions } from './MemoryStore.js';
export { FileStore } from './FileStore.js';
export type { FileStoreOptions } from './FileStore.js';
export type { CheckpointStore, RunSummary, ListFilter, PruneFilter, EventsOptions } from './CheckpointStore.js';
