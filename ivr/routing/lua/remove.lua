-- remove.lua: take an agent off the roster. An agent in the middle of an offer or a call
-- is logged out and marked gone instead; a later removal finishes the job.
-- KEYS: the common layout of lib.lua (PHONES: the phone book).
-- ARGV[3] JSON: {agent}
-- Returns "removed" | "busy" | "unknown".
local a = agent_get(ARGS.agent)
if not a then return 'unknown' end
free_del(a)
on_set(a, false)
if a.state ~= 'idle' then
  a.status = 'offline'
  a.gone = 1
  agent_put(a)
  return 'busy'
end
if redis.call('HGET', PHONES, a.phone) == a.id then redis.call('HDEL', PHONES, a.phone) end
redis.call('HDEL', AGENTS, a.id)
event('status', {agent = a.id, status = 'removed', source = 'roster'})
return 'removed'
