-- caller_gone.lua: the caller's call ended (status callback). Waiting or ringing: abandoned,
-- and every agent being offered the call is freed at once. Harmless for anyone else.
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {call = CallSid}
-- Returns {"none"} | {"abandoned", {agent id, leg sid, ...}, {offers}}.
local c = caller_get(ARGS.call)
if not c or c.kind == 'callback' then return {'none'} end
if c.st ~= 'waiting' and c.st ~= 'offered' then return {'none'} end
local freed, agents = {}, {}
for id, tok in pairs(c.offers) do
  untimer('ring|' .. id .. '|' .. tok)
  local o = agent_get(id)
  if o and o.state == 'offered' and o.offer and o.offer.token == tok then
    freed[#freed + 1] = id
    freed[#freed + 1] = o.leg or ''
    agents[#agents + 1] = o
    release(o)
    agent_put(o)
  end
end
redis.call('ZREM', bucket(c), c.id)
c.offers = {}
c.st = 'abandoned'
outcome(c, 'abandoned')
untimer('maxwait|' .. c.id)
forget(c)
caller_put(c)
event('abandon', {queue = c.q, call = c.id, wait = math.floor((NOW - c.t0) / 1000)})
local offers = {}
for _, o in ipairs(agents) do
  for _, x in ipairs(match_agent(agent_get(o.id))) do offers[#offers + 1] = x end
end
return {'abandoned', freed, offers}
