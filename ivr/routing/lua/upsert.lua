-- upsert.lua: add or change an agent (from agents.yaml or the API), keeping its status
-- and state; re-indexes its skills and phone.
-- KEYS: the common layout of lib.lua, with the phone book (PHONES: phone -> agent id).
-- ARGV[3] JSON: {agent = {id, name, phone, skills, pin, source}, keep_api = bool}
-- Returns {"added" | "updated" | "kept", {offers}}.
local new = ARGS.agent
local a = agent_get(new.id)
local verdict = 'updated'
if a and ARGS.keep_api and a.source == 'api' and new.source == 'yaml' then
  return {'kept', {}}
end
if not a then
  verdict = 'added'
  a = {id = new.id, status = 'offline', state = 'idle', since = NOW, state_since = NOW,
       idle = NOW, calls = 0, talk = 0, missed = 0, day = CTX.day}
else
  free_del(a)
  on_set(a, false)
  if a.phone and redis.call('HGET', PHONES, a.phone) == a.id then redis.call('HDEL', PHONES, a.phone) end
end
a.name = new.name
a.phone = new.phone
a.skills = new.skills
a.pin = new.pin
a.source = new.source
a.gone = nil
redis.call('HSET', PHONES, a.phone, a.id)
on_set(a, a.status ~= 'offline')
if is_free(a) then free_add(a) end
agent_put(a)
return {verdict, match_agent(agent_get(a.id))}
