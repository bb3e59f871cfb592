/**
 * Lua that reads budget counters without changing them (the hash layout of `budget-scripts.ts`:
 * `{ spent, reserved, h:<reservation id>: amount | "s" }` plus a sorted set of holds scored by
 * expiry). A hold past its expiry is still in `reserved` until the next reservation sweeps it,
 * so the reader subtracts the lapsed ones itself (at most `LAPSED_LIMIT` per counter: leftovers
 * only over-count what is held, never under-count).
 *
 * KEYS: counter hash, holds set, per counter. Returns spent and reserved nanodollars per counter,
 * as decimal strings.
 */
const LAPSED_LIMIT = 1024;

export const READ_BUDGETS = `
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local reply = {}
for i = 1, #KEYS / 2 do
  local counter, holds = KEYS[i * 2 - 1], KEYS[i * 2]
  local stored = redis.call("HMGET", counter, "spent", "reserved")
  local reserved = tonumber(stored[2] or "0")
  local lapsed = redis.call("ZRANGEBYSCORE", holds, "-inf", now, "LIMIT", 0, ${LAPSED_LIMIT})
  for _, id in ipairs(lapsed) do
    local amount = redis.call("HGET", counter, "h:" .. id)
    if amount and amount ~= "s" then reserved = reserved - tonumber(amount) end
  end
  if reserved < 0 then reserved = 0 end
  reply[i * 2 - 1] = stored[1] or "0"
  reply[i * 2] = string.format("%.17g", reserved)
end
return reply
`;
