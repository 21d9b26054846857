-- wrap_end.lua: the wrap-up timer of one call came due: the agent is free and matched.
-- KEYS: the common layout of lib.lua, with the phone book (PHONES: drop()).
-- ARGV[3] JSON: {agent, token}
-- Returns {offers}.
local a = agent_get(ARGS.agent)
if not a or a.state ~= 'wrap-up' or not a.offer or a.offer.token ~= ARGS.token then return {} end
untimer('wrap|' .. a.id .. '|' .. ARGS.token)
if a.gone then  -- removed from the roster during the call or the wrap-up: leaves now
  drop(a)
  return {}
end
release(a)
agent_put(a)
return match_agent(agent_get(a.id))
