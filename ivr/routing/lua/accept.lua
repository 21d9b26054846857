-- accept.lua: an agent pressed 1 in the whisper. The first acceptance wins atomically;
-- ring-all offers to other agents are withdrawn in the same step (their calls are then
-- cancelled by the worker; each agent is free when its call has ended).
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {agent = id, token = offer token}
-- Returns {"ok", caller id, kind, {withdrawn agent id, leg sid, ...}} | {"gone"} | {"stale"}.
local a = agent_get(ARGS.agent)
if not a or a.state ~= 'offered' or not a.offer or a.offer.token ~= ARGS.token then
  return {'stale'}
end
local c = caller_get(a.offer.call)
if a.offer.gone or a.gone or not c or c.st ~= 'offered' or c.offers[a.id] ~= ARGS.token then
  -- the agent's call ends now; its status callback frees the agent (an agent removed
  -- from the roster while ringing takes no call: the caller goes back in line then)
  return {'gone'}
end
local withdrawn = withdraw_offers(c, a.id)
untimer('ring|' .. a.id .. '|' .. ARGS.token)
c.offers = {}
c.st = 'connected'
c.agent = a.id
c.conn = NOW
served_by(c, a.id)
local first = c.kind ~= 'callback' and outcome(c, 'connected')
-- A caller transferred into a queue (tq: when) is answered there, their wait counted from
-- the transfer; one connected again in the same queue (a transfer to an agent) is not
-- answered twice (again = 1: the reports skip it; the routing counters already do).
local connect = {queue = c.q, call = c.id, agent = a.id, kind = c.kind,
                 wait = math.floor((NOW - (c.tq or c.t0)) / 1000)}
if c.kind ~= 'callback' and not first and not c.tq then connect.again = 1 end
-- rc: answered before (unconnect.lua keeps such a caller connected if they hang up before
-- joining), with what this connect counted in the reports
if c.kind ~= 'callback' and not first then
  c.rc = {w = connect.wait, a = connect.again}
else
  c.rc = nil
end
c.lost = nil
c.tq = nil
untimer('maxwait|' .. c.id)
caller_put(c)
a.state = 'on-call'
a.state_since = NOW
-- If the agent's status callback is ever lost, this check asks Twilio about the call.
timer(NOW + CTX.check * 1000, 'check|' .. a.id .. '|' .. ARGS.token)
a.calls = (a.calls or 0) + 1
a.missed = 0
agent_put(a)
event('connect', connect)
return {'ok', c.id, c.kind, withdrawn}
