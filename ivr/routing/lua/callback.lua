-- callback.lua: a waiting caller pressed 1 for a call back: they keep their place in
-- line, their phone call ends, and an agent will call them.
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {call}
-- Returns "ok" | "busy" (an agent is being rung for them right now) | "none".
local c = caller_get(ARGS.call)
if not c then return 'none' end
if c.kind == 'callback' then return 'ok' end
if c.st == 'offered' then return 'busy' end
if c.st ~= 'waiting' then return 'none' end
c.kind = 'callback'
c.tries = 0
outcome(c, 'callback')
untimer('maxwait|' .. c.id)
caller_put(c)
event('callback', {queue = c.q, call = c.id, number = c.from, via = 'voice',
                   wait = math.floor((NOW - c.t0) / 1000)})
return 'ok'
