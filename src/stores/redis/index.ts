export { RedisStore } from './RedisStore.js';
export type { RedisStoreOptions } from './RedisStore.js';
