-- wrapup.lua: an agent gives the wrap-up of a call (a disposition): it goes to the event
-- log, and the agent's wrap-up time ends now; a call still connected keeps going (the
-- disposition is kept, nothing ends).
-- KEYS: the common layout of lib.lua, with the phone book (PHONES: drop()).
-- ARGV[3] JSON: {agent, call, disposition ("" for none)}
-- Returns {"conflict"} (that agent is neither on nor wrapping up this call) |
-- {"connected"} | {"ended", {offers}} | {"removed"} (taken off the roster during the call).
local a = agent_get(ARGS.agent)
if not a or not a.offer or a.offer.call ~= ARGS.call
    or (a.state ~= 'wrap-up' and a.state ~= 'on-call') then
  return {'conflict'}
end
event('disposition', {queue = a.offer.queue or '', call = ARGS.call, agent = a.id,
                      disposition = ARGS.disposition})
if a.state == 'on-call' then return {'connected'} end
untimer('wrap|' .. a.id .. '|' .. a.offer.token)
if a.gone then
  drop(a)
  return {'removed'}
end
release(a)
agent_put(a)
return {'ended', match_agent(agent_get(a.id))}
