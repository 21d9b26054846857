-- set_status.lua: an agent (or an admin) sets the agent's status; an agent becoming
-- available is matched at once.
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {agent, status = offline|available|break, source, reason} (reason: why the
-- break, "" for none; kept while on break, cleared otherwise)
-- Returns {"unknown"} (also for an agent removed while busy) | {"ok", agent JSON, {offers}}.
local a = agent_get(ARGS.agent)
if not a or a.gone then return {'unknown'} end  -- gone: removed, its call goes on
local old = a.status
local reason = ARGS.status == 'break' and ARGS.reason or ''
if old ~= ARGS.status or (a.reason or '') ~= reason then
  if old ~= ARGS.status then a.since = NOW end
  a.status = ARGS.status
  event('status', {agent = a.id, status = a.status, source = ARGS.source, reason = reason})
end
if reason ~= '' then a.reason = reason else a.reason = nil end
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
