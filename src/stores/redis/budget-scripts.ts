/**
 * Lua for budget counters, run with EVALSHA (ioredis `defineCommand`): a reservation is one
 * atomic step over every counter it names, so a fleet's concurrent calls can never reserve
 * past a limit between them.
 *
 * A counter is two keys: a hash `{ spent, reserved, h:<reservation id>: amount }` and a sorted
 * set of its holds scored by expiry. Amounts are whole nanodollars kept as integers by
 * HINCRBY on decimal strings from the caller, so sums never drift and never pass through a
 * Lua number that Redis would print with 14 digits. Expired holds are swept (a bounded number
 * per call) before a counter is read. A settled or cancelled reservation leaves a tombstone
 * `"s"` for `TOMBSTONE_MS`, whether a hold was there or not, so a settlement that arrives twice
 * (run late by a stalled server, then replayed) counts once, and a reservation run after its
 * cancellation holds nothing.
 *
 * Expiry instants are the server's clock plus lifetimes the caller computed from its own `now`,
 * so no two clocks are ever compared.
 */

/**
 * How long a tombstone outlives its settlement: long enough for the replays that follow a
 * timeout (they start as soon as the link works again), short enough that a busy fleet's
 * tombstones stay a few MB.
 */
export const TOMBSTONE_MS = 120_000;

/** Holds swept per counter per call: bounded work; leftovers only over-count, never under. */
const SWEEP_LIMIT = 256;

const PRELUDE = `
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
-- HINCRBY refuses "-0"; amounts are canonical decimal strings from the caller.
local function decrease(counter, field, amount)
  if amount ~= "0" then redis.call("HINCRBY", counter, field, "-" .. amount) end
end
local function sweep(counter, holds)
  local expired = redis.call("ZRANGEBYSCORE", holds, "-inf", now, "LIMIT", 0, ${SWEEP_LIMIT})
  for _, id in ipairs(expired) do
    local amount = redis.call("HGET", counter, "h:" .. id)
    if amount and amount ~= "s" then decrease(counter, "reserved", amount) end
    redis.call("HDEL", counter, "h:" .. id)
    redis.call("ZREM", holds, id)
  end
end
local function keep_for(counter, holds, ttl)
  if ttl ~= "-1" then
    redis.call("PEXPIRE", counter, ttl)
    redis.call("PEXPIRE", holds, ttl)
  end
end
`;

/**
 * KEYS: counter hash, holds set, per counter. ARGV: reservation id, amount (nanodollars),
 * lifetime ms, then per counter limit (nanodollars) and TTL ms ("-1": never expires).
 * Returns { ok (1|0), blocking (0-based, -1), used nanodollars per counter... }. A reservation
 * id already held (a resent command) is answered ok without holding twice.
 */
export const RESERVE_BUDGET = `${PRELUDE}
local id = ARGV[1]
local amount = ARGV[2]
local expires_at = now + tonumber(ARGV[3])
local counters = #KEYS / 2
local used = {}
local blocking = -1
local already = true
for i = 1, counters do
  local counter, holds = KEYS[i * 2 - 1], KEYS[i * 2]
  sweep(counter, holds)
  local stored = redis.call("HMGET", counter, "spent", "reserved", "h:" .. id)
  -- A tombstone ("s") means this reservation was settled or cancelled already (a command the
  -- server ran late, after the caller gave up on it): it must not hold again.
  if not stored[3] then already = false end
  used[i] = tonumber(stored[1] or "0") + tonumber(stored[2] or "0")
  if blocking == -1 and used[i] + tonumber(amount) > tonumber(ARGV[2 + i * 2]) then blocking = i - 1 end
end
if already then blocking = -1 end
if blocking == -1 and not already then
  for i = 1, counters do
    local counter, holds = KEYS[i * 2 - 1], KEYS[i * 2]
    redis.call("HSET", counter, "h:" .. id, amount)
    redis.call("HINCRBY", counter, "reserved", amount)
    redis.call("ZADD", holds, expires_at, id)
    keep_for(counter, holds, ARGV[3 + i * 2])
  end
end
local reply = { blocking == -1 and 1 or 0, blocking }
for i = 1, counters do reply[i + 2] = string.format("%.17g", used[i]) end
return reply
`;

/**
 * KEYS: counter hash, holds set, per counter. ARGV: per counter TTL ms ("-1": never expires),
 * then pairs of (reservation id, actual cost in nanodollars). Settles a batch of calls in one
 * round trip (the outbox replays thousands this way). Each id is applied exactly once: it ends
 * the id's hold, adds its cost and leaves a tombstone `"s"` whether or not a hold was there (a
 * hold taken locally during an outage, or one that lapsed); an id already tombstoned (a
 * timed-out settlement the server ran after all, then replayed; a cancelled reservation) adds
 * nothing. A cost of 0 is how a reservation Redis may still run late is cancelled: the
 * tombstone makes that reservation a no-op. Returns the number of ids applied.
 */
export const SETTLE_BUDGET = `${PRELUDE}
local counters = #KEYS / 2
local applied = 0
for i = 1, counters do
  local counter, holds = KEYS[i * 2 - 1], KEYS[i * 2]
  local added = 0
  for j = counters + 1, #ARGV, 2 do
    local id, actual = ARGV[j], ARGV[j + 1]
    local held = redis.call("HGET", counter, "h:" .. id)
    if held ~= "s" then
      if held then decrease(counter, "reserved", held) end
      redis.call("HSET", counter, "h:" .. id, "s")
      redis.call("ZADD", holds, now + ${TOMBSTONE_MS}, id)
      if actual ~= "0" then redis.call("HINCRBY", counter, "spent", actual) end
      added = added + 1
    end
  end
  keep_for(counter, holds, ARGV[i])
  if added > applied then applied = added end
end
return applied
`;
