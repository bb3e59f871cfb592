/**
 * Every Redis key and channel a store uses, under one prefix per gateway (fleet), so two
 * gateways on one Redis never share a bucket by accident and `SCAN prefix*` finds everything.
 */
export interface RedisKeys {
  bucket(key: string): string;
  counter(key: string): string;
  holds(key: string): string;
  cache(key: string): string;
  /** A `claimOnce` marker. */
  marker(key: string): string;
  readonly cooldownChannel: string;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    bucket: (key) => `${prefix}bucket:${key}`,
    counter: (key) => `${prefix}counter:${key}`,
    holds: (key) => `${prefix}holds:${key}`,
    cache: (key) => `${prefix}cache:${key}`,
    marker: (key) => `${prefix}marker:${key}`,
    cooldownChannel: `${prefix}cooldowns`,
  };
}
