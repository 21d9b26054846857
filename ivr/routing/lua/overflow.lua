-- overflow.lua: a caller's max wait passed: they leave the queue for the step's overflow.
-- A caller whose offer is ringing right now is left alone (the timer is retried).
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {call}
-- Returns {"overflow", action url} | {"busy"} | {"none"}.
local c = caller_get(ARGS.call)
if not c or c.kind == 'callback' then return {'none'} end
if c.st == 'offered' then return {'busy'} end
if c.st ~= 'waiting' then return {'none'} end
redis.call('ZREM', bucket(c), c.id)
c.st = 'overflowed'
outcome(c, 'overflowed')
forget(c)
caller_put(c)
event('overflow', {queue = c.q, call = c.id, reason = 'max wait',
                   wait = math.floor((NOW - c.t0) / 1000)})
return {'overflow', c.action or ''}
