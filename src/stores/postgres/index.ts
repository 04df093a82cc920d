export { PostgresStore } from './PostgresStore.js';
export type { PostgresStoreOptions } from './PostgresStore.js';
export { migrate } from './schema.js';
export type { MigrateOptions, PgQueryable } from './schema.js';
