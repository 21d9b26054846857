-- join.lua: the caller's call fetched the conference after its acceptance (the REST
-- redirect out of <Enqueue> reached it). From now on the caller counts as in the
-- conference: a hang-up is the end of a connected call, not an abandon (unconnect.lua).
-- A caller whose agent has already hung up ("done") is sent straight on into the flow.
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {call}
-- Returns {"ok", enqueue action url, agent id} | {"done", action url} | {"gone"}.
local c = caller_get(ARGS.call)
if not c or c.kind == 'callback' or c.out ~= 'connected' then return {'gone'} end
if c.st == 'done' then return {'done', c.action or ''} end
if c.st ~= 'connected' then return {'gone'} end
if not c.j then
  c.j = 1
  caller_put(c)
end
return {'ok', c.action or '', c.agent or ''}
