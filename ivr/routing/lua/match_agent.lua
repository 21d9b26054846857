-- match_agent.lua: an agent may be free (became available, wrap-up ended, an offer ended):
-- offer it the best waiting caller it can take (highest priority, then longest waiting).
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {agents = {id, ...}}
-- Returns {offers} (see enter.lua).
local all = {}
for _, id in ipairs(ARGS.agents) do
  for _, o in ipairs(match_agent(agent_get(id))) do all[#all + 1] = o end
end
return all
