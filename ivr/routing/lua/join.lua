-- join.lua: the caller's call fetched the conference after its acceptance (the REST
-- redirect out of <Enqueue> reached it). From now on the caller counts as in the
-- conference: a hang-up is the end of a connected call, not an abandon (unconnect.lua).
-- A caller whose agent has already hung up ("done") is sent straight on into the flow.
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {call}
-- Each connection has a generation `g` (counted here): the caller's conference <Dial>
-- action carries it, so that the action of a conference the caller was moved out of
-- (a transfer) is told from the one that ends their call.
-- Returns {"ok", enqueue action url, agent id, g} | {"done", action url, "", g} | {"gone"}.
local c = caller_get(ARGS.call)
if not c or c.kind == 'callback' or c.out ~= 'connected' then return {'gone'} end
if c.st == 'done' then return {'done', c.action or '', '', c.g or 0} end
if c.st ~= 'connected' then return {'gone'} end
if not c.j then
  c.j = 1
  c.g = (c.g or 0) + 1
  caller_put(c)
end
return {'ok', c.action or '', c.agent or '', c.g}
