import { TOMBSTONE_MS } from "./budget-scripts.js";
import { BUCKET_PRELUDE } from "./token-scripts.js";

/**
 * Lua for what calls send once they are over, gathered over one turn of the event loop
 * (`AfterCallBatch`): TPM refunds (summed per bucket) and budget settlements (grouped per
 * counter), in one atomic step. Same data layout and rules as the buckets of
 * `token-scripts.ts` (a refund: the level plus the amount, kept within [-capacity, capacity]) and
 * `SETTLE_BUDGET`, at a fraction of their commands: per counter one HMGET of every id's hold,
 * one HSET of every tombstone, one ZADD, one HINCRBY each for `reserved` and `spent`, whatever
 * the number of calls; rather than all of them per call.
 *
 * Each (counter, id) is applied exactly once, as in `SETTLE_BUDGET`: an id already tombstoned
 * adds nothing (and an id named twice in one batch counts once). Sums stay exact: amounts are
 * whole nanodollars of at most 2^53 - 1 each, added as Lua numbers only while the running sum
 * stays within 2^53 - 1 (past it the sum is sent and a new one started), and printed with
 * "%d" (Lua would print 15+ digit numbers in exponent form).
 *
 * Answers for the cache's shared tier stored at the end of those calls ride along: one SET ... PX
 * each, as `redisCacheStore` sent them on their own.
 *
 * KEYS: one bucket per refund, then counter hash and holds set per counter, then one cache key
 * per answer. ARGV: refunds, counters, answers; per refund amount, capacity, refillPerMs; per
 * counter TTL ms ("-1": never expires), its number of settlements n, then n pairs (reservation
 * id, nanodollars); per answer its value and TTL ms. Returns the number of (counter, id)
 * settlements applied.
 */
export const AFTER_CALLS = `${BUCKET_PRELUDE}
local now_ms = math.floor(now)
local EXACT = 9007199254740991
local refunds, counters, answers = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local a = 4
for i = 1, refunds do
  local amount = tonumber(ARGV[a])
  local capacity = tonumber(ARGV[a + 1])
  local refill = tonumber(ARGV[a + 2])
  a = a + 3
  if amount ~= 0 then
    local level = level_of(KEYS[i], capacity, refill) + amount
    if level > capacity then level = capacity end
    if level < -capacity then level = -capacity end
    store_level(KEYS[i], level, capacity, refill)
  end
end
-- Adds a whole amount to a running sum, sending the sum first when it would pass 2^53 - 1.
local function add(counter, field, sign, sum, amount)
  if sum + amount > EXACT then
    redis.call("HINCRBY", counter, field, sign .. string.format("%d", sum))
    return amount
  end
  return sum + amount
end
local function flush(counter, field, sign, sum)
  if sum > 0 then redis.call("HINCRBY", counter, field, sign .. string.format("%d", sum)) end
end
local applied = 0
for c = 1, counters do
  local counter, holds = KEYS[refunds + c * 2 - 1], KEYS[refunds + c * 2]
  local ttl, n = ARGV[a], tonumber(ARGV[a + 1])
  a = a + 2
  if n > 0 then
    local fields = {}
    for j = 1, n do fields[j] = "h:" .. ARGV[a + j * 2 - 2] end
    local held = redis.call("HMGET", counter, unpack(fields))
    local seen = {}
    local tombstones, scored = {}, {}
    local released, spent = 0, 0
    for j = 1, n do
      local id, actual = ARGV[a + j * 2 - 2], ARGV[a + j * 2 - 1]
      if held[j] ~= "s" and not seen[id] then
        seen[id] = true
        if held[j] then released = add(counter, "reserved", "-", released, tonumber(held[j])) end
        spent = add(counter, "spent", "", spent, tonumber(actual))
        tombstones[#tombstones + 1] = fields[j]
        tombstones[#tombstones + 1] = "s"
        scored[#scored + 1] = now_ms + ${TOMBSTONE_MS}
        scored[#scored + 1] = id
        applied = applied + 1
      end
    end
    flush(counter, "reserved", "-", released)
    flush(counter, "spent", "", spent)
    if #tombstones > 0 then
      redis.call("HSET", counter, unpack(tombstones))
      redis.call("ZADD", holds, unpack(scored))
    end
  end
  a = a + n * 2
  if ttl ~= "-1" then
    redis.call("PEXPIRE", counter, ttl)
    redis.call("PEXPIRE", holds, ttl)
  end
end
for i = 1, answers do
  redis.call("SET", KEYS[refunds + counters * 2 + i], ARGV[a], "PX", ARGV[a + 1])
  a = a + 2
end
return applied
`;
