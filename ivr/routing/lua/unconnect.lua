-- unconnect.lua: the caller hung up after an agent accepted them but before joining the
-- agent's conference (QueueResult hangup, the REST move refused, or their call ended
-- without the conference reporting them: core.py's call_ended and its joincheck timer): they hung up as the agent pressed 1, and
-- were never bridged. The outcome becomes abandoned; the counters move with it, and the
-- event log says so (an abandon event with was = connected) so a rebuild agrees.
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {call}
-- Returns "abandoned" | "none".
local c = caller_get(ARGS.call)
if not c or c.out ~= 'connected' or c.kind == 'callback' then return 'none' end
-- in the conference (its participant-join callback said so: conf_event.lua): a hang-up
-- now ends a connected call
if c.cf then return 'none' end
local wait = math.floor(((c.conn or NOW) - c.t0) / 1000)
stat(c.q, 'answered', -1)
stat(c.q, 'wait_total', -wait)
if wait <= c.sl then stat(c.q, 'answered_in_sl', -1) end
stat(c.q, 'abandoned')
c.out = 'abandoned'
-- never bridged: the agent who pressed 1 did not serve them (accept.lua listed them)
if type(c.ags) == 'table' and c.ags[#c.ags] == c.agent then c.ags[#c.ags] = nil end
if c.st == 'connected' then c.st = 'abandoned' end
caller_put(c)
event('abandon', {queue = c.q, call = c.id, wait = wait, was = 'connected'})
return 'abandoned'
