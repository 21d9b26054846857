-- overflow.lua: a caller's max wait passed: they leave the line for the step's overflow.
-- Two steps, so that the outcome is what the caller lived: first (the timer) they are
-- taken out of line as "overflowing", and their next hold-loop fetch answers <Leave/>;
-- then (final = true, when Twilio's <Enqueue> action says they left) the outcome is
-- overflowed. A caller who hangs up in between is abandoned (caller_gone.lua), when
-- the action says hangup or never comes (core.py: call_ended, leavecheck).
-- A caller whose offer is ringing right now is left alone (the timer is retried).
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {call, final}
-- Returns {"overflow", action url} | {"busy"} | {"none"}.
local c = caller_get(ARGS.call)
if not c or c.kind == 'callback' then return {'none'} end
if c.st == 'offered' then return {'busy'} end
if c.st == 'waiting' then
  redis.call('ZREM', bucket(c), c.id)
  untimer('maxwait|' .. c.id)
  c.st = 'overflowing'
elseif c.st ~= 'overflowing' then
  return {'none'}
end
if ARGS.final then
  c.st = 'overflowed'
  outcome(c, 'overflowed')
  forget(c)
  event('overflow', {queue = c.q, call = c.id, reason = 'max wait',
                     wait = math.floor((NOW - c.t0) / 1000)})
end
caller_put(c)
return {'overflow', c.action or ''}
