export { redisStore } from "./stores/redis/redis-store.js";
export type { RedisStore, RedisStoreStats } from "./stores/redis/redis-store.js";
export type { RedisConnection, RedisStoreOptions } from "./stores/redis/redis-store-options.js";
export type { RedisLinkState } from "./stores/redis/redis-link.js";
export type { FailurePolicy } from "./stores/redis/redis-state-store.js";
