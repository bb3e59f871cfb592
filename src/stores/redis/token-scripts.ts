/**
 * Lua for token buckets, run with EVALSHA (ioredis `defineCommand`): each call is one atomic
 * step over every bucket it names, on the server, so concurrent calls from a whole fleet can
 * neither over-admit nor lose a take. The arithmetic mirrors `limits/token-bucket.ts` exactly
 * (the contract test runs the same cases against both stores).
 *
 * Time is the server's (`TIME`), not the caller's: every process of a fleet then refills a
 * bucket by the same clock, so a replica whose clock runs ahead cannot refill a shared bucket
 * early. Scripts that call TIME are fine in Redis 5+ (effects replication, the only mode in 7).
 *
 * A bucket is a hash `{ level, at }` whose TTL is the time it takes to refill completely: an
 * expired bucket and a full one are the same, so nothing outlives its use. Numbers leave Lua as
 * strings ("%.17g"): Redis would truncate a Lua number reply to an integer.
 */

/** Shared preamble: the server clock in ms and a bucket's level now (also used by `after-call-scripts.ts`). */
export const BUCKET_PRELUDE = `
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local function level_of(key, capacity, refill)
  local stored = redis.call("HMGET", key, "level", "at")
  if not stored[1] then return capacity end
  local elapsed = now - tonumber(stored[2])
  if elapsed < 0 then elapsed = 0 end
  return math.min(capacity, tonumber(stored[1]) + elapsed * refill)
end
local function store_level(key, level, capacity, refill)
  redis.call("HSET", key, "level", string.format("%.17g", level), "at", string.format("%.17g", now))
  -- Gone once it would be full again: the same as a full bucket.
  redis.call("PEXPIRE", key, math.max(1, math.ceil((capacity - level) / refill)) + 1000)
end
`;

/**
 * KEYS: one bucket per draw. ARGV[1]: "1" to take, "0" to only look; then per draw
 * amount, capacity, refillPerMs. Returns { ok (1|0), retryAfterMs, blocking (0-based, -1), levels... }.
 */
export const CONSUME_TOKENS = `${BUCKET_PRELUDE}
local take = ARGV[1] == "1"
local levels = {}
local amounts = {}
local retry_after = 0
local blocking = -1
for i = 1, #KEYS do
  local amount = tonumber(ARGV[i * 3 - 1])
  local capacity = tonumber(ARGV[i * 3])
  local refill = tonumber(ARGV[i * 3 + 1])
  local level = level_of(KEYS[i], capacity, refill)
  levels[i] = level
  amounts[i] = amount
  local needed = amount
  if needed > capacity then needed = capacity end
  if level < needed then
    local wait = math.ceil((needed - level) / refill)
    if wait > retry_after then
      retry_after = wait
      blocking = i - 1
    end
  end
end
if take and blocking == -1 then
  for i = 1, #KEYS do
    levels[i] = levels[i] - amounts[i]
    store_level(KEYS[i], levels[i], tonumber(ARGV[i * 3]), tonumber(ARGV[i * 3 + 1]))
  end
end
local reply = { blocking == -1 and 1 or 0, tostring(retry_after), blocking }
for i = 1, #KEYS do reply[i + 3] = string.format("%.17g", levels[i]) end
return reply
`;
