-- unconnect.lua: the caller hung up after an agent accepted them but before joining the
-- agent's conference (QueueResult hangup, the REST move refused, or their call ended
-- without the conference reporting them: core.py's call_ended and its joincheck timer): they hung up as the agent pressed 1, and
-- were never bridged. The outcome becomes abandoned; the counters move with it, and the
-- event log says so (an abandon event with was = connected) so a rebuild agrees.
-- Either way the agent's part is marked lost (agent_done.lua: not the caller's talk, not on
-- their contact record). A caller answered before (rc: a cold transfer, then the next agent
-- pressed 1, accept.lua) keeps their single outcome, connected: no counter moves, the call
-- is over ("done"), and the event (abandon, was = connected, kept = 1, and again = 1 when
-- the connect it undoes had it) tells the reports what that connect had counted.
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {call}
-- Returns "abandoned" | "ended" (answered before: still connected) | "none".
local c = caller_get(ARGS.call)
if not c or c.out ~= 'connected' or c.kind == 'callback' then return 'none' end
-- in the conference (its participant-join callback said so: conf_event.lua): a hang-up
-- now ends a connected call
if c.cf or c.lost then return 'none' end
-- The agent who pressed 1 did not serve them: not among their agents (accept.lua listed
-- them), and that agent's part, when their call ends, is not the caller's talk nor on
-- their contact record (lost: agent_done.lua). The record is forgotten in time.
local function lost()
  local a = c.agent and agent_get(c.agent) or nil
  if a and a.state == 'on-call' and a.offer and a.offer.call == c.id and not a.offer.moved then
    a.offer.moved = {q = c.q, conn = c.conn, hold = 0, lost = 1}
    agent_put(a)
  end
  c.lost = 1
  if type(c.ags) == 'table' and c.ags[#c.ags] == c.agent then c.ags[#c.ags] = nil end
  forget(c)
end
if type(c.rc) == 'table' then
  if c.st ~= 'connected' and c.st ~= 'done' then return 'none' end
  lost()
  if c.st == 'connected' then c.st = 'done' end
  caller_put(c)
  event('abandon', {queue = c.q, call = c.id, wait = c.rc.w or 0, was = 'connected',
                    kept = 1, again = c.rc.a})
  return 'ended'
end
local wait = math.floor(((c.conn or NOW) - c.t0) / 1000)
stat(c.q, 'answered', -1)
stat(c.q, 'wait_total', -wait)
if wait <= c.sl then stat(c.q, 'answered_in_sl', -1) end
stat(c.q, 'abandoned')
c.out = 'abandoned'
lost()
if c.st == 'connected' then c.st = 'abandoned' end
caller_put(c)
event('abandon', {queue = c.q, call = c.id, wait = wait, was = 'connected'})
return 'abandoned'
