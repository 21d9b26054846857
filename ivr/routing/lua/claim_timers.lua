-- claim_timers.lua: claim the timers that are due, for this worker only: each claimed timer
-- is pushed `lease_ms` into the future (a lease), so no other worker or host fires it
-- while we do; the worker deletes it when its handler finished, and if the worker dies
-- the lease runs out and someone else fires it. Handlers are idempotent (offer tokens).
-- KEYS: the common layout of lib.lua (only KEYS[3], timers, is touched).
-- ARGV[3] JSON: {limit, lease_ms}
-- Returns {member, claimed score, ...}.
local due = redis.call('ZRANGEBYSCORE', TIMERS, '-inf', num(NOW), 'LIMIT', 0, ARGS.limit)
local out = {}
local lease = num(NOW + ARGS.lease_ms)
for _, m in ipairs(due) do
  redis.call('ZADD', TIMERS, lease, m)
  out[#out + 1] = m
  out[#out + 1] = lease
end
return out
