/**
 * Lua that starts budget counters from the durable ledger without ever overriding Redis:
 * `HSETNX counter spent` sets the settled spend only when no settlement reached that counter
 * yet (set-if-absent), in one atomic step over every counter named, so gateways of a fleet
 * seeding at once, or a seed racing a settlement, never add a period's spend twice.
 *
 * KEYS: counter hashes (the same hashes `RESERVE_BUDGET` reads). ARGV: per counter, spent
 * (nanodollars, a decimal string) and TTL ms ("-1": never expires). A counter created here
 * gets the TTL; one that exists keeps its own. Returns how many counters were seeded.
 */
export const SEED_BUDGETS = `
local seeded = 0
for i = 1, #KEYS do
  if redis.call("HSETNX", KEYS[i], "spent", ARGV[i * 2 - 1]) == 1 then
    seeded = seeded + 1
    local ttl = ARGV[i * 2]
    if ttl ~= "-1" and redis.call("PTTL", KEYS[i]) < 0 then redis.call("PEXPIRE", KEYS[i], ttl) end
  end
end
return seeded
`;
