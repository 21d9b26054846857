-- miss.lua: an offer failed (declined, no answer, busy, failed, ring timer expired). The
-- caller goes back to their original place; the agent counts a miss and, after
-- max_missed in a row, goes on break. Then both sides are matched again.
-- KEYS: the common layout of lib.lua, with the phone book (PHONES: drop()).
-- ARGV[3] JSON: {agent, token, reason, max_missed, rest_ms}
-- An offer withdrawn earlier (caller hung up, ring-all taken by another) ends here too,
-- when the agent's call has ended: the agent is free, no miss is counted. An agent removed
-- from the roster while ringing (remove.lua) leaves it here, and counts no miss.
-- Returns {"stale"} | {"missed" | "released", put_on_break (0/1), caller id, leg sid,
-- {offers}}.
local a = agent_get(ARGS.agent)
if not a or a.state ~= 'offered' or not a.offer or a.offer.token ~= ARGS.token then
  return {'stale'}
end
untimer('ring|' .. a.id .. '|' .. ARGS.token)
local cid = a.offer.call
local leg = a.leg or ''
local withdrawn = a.offer.gone
local on_break = 0
if withdrawn then
  -- the caller hung up or another agent took them: not the agent's miss
  release(a)
  if a.gone then
    drop(a)
    return {'released', 0, cid, leg, {}}
  end
  agent_put(a)
  return {'released', 0, cid, leg, match_agent(agent_get(a.id))}
end
if not a.gone then
  a.missed = (a.missed or 0) + 1
  if a.missed >= ARGS.max_missed then
    a.status = 'break'
    a.since = NOW
    on_break = 1
    event('status', {agent = a.id, status = 'break', source = 'missed'})
  end
end
release(a)
if a.gone then drop(a) else agent_put(a) end
local offers = {}
local c = caller_get(cid)
if c then
  if c.offers[a.id] == ARGS.token then c.offers[a.id] = nil end
  stat(c.q, 'missed')
  event('miss', {queue = c.q, call = c.id, agent = a.id, reason = ARGS.reason})
  if c.st == 'offered' and next(c.offers) == nil then
    c.mb = a.id
    c.mu = NOW + ARGS.rest_ms
    requeue(c)
    timer(c.mu, 'rematch|' .. c.id)
    for _, o in ipairs(match_caller(c)) do offers[#offers + 1] = o end
  end
  caller_put(c)
end
if not a.gone then
  for _, o in ipairs(match_agent(agent_get(a.id))) do offers[#offers + 1] = o end
end
return {'missed', on_break, cid, leg, offers}
