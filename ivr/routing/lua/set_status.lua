-- set_status.lua: an agent (or an admin) sets the agent's status; an agent becoming
-- available is matched at once.
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {agent, status = offline|available|break, source}
-- Returns {"unknown"} (also for an agent removed while busy) | {"ok", agent JSON, {offers}}.
local a = agent_get(ARGS.agent)
if not a or a.gone then return {'unknown'} end  -- gone: removed, its call goes on
local old = a.status
if old ~= ARGS.status then
  a.status = ARGS.status
  a.since = NOW
  event('status', {agent = a.id, status = a.status, source = ARGS.source})
end
a.status_source = ARGS.source
if a.status == 'available' then
  a.missed = 0
  if old ~= 'available' and a.state == 'idle' then a.idle = NOW end
end
on_set(a, a.status ~= 'offline')
if is_free(a) then free_add(a) else free_del(a) end
agent_put(a)
local offers = match_agent(agent_get(a.id))
return {'ok', redis.call('HGET', AGENTS, a.id), offers}
