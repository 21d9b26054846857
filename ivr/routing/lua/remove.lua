-- remove.lua: take an agent off the roster. An agent in the middle of an offer, a call or
-- a wrap-up is logged out and marked gone instead, and its phone leaves the phone book at
-- once (its texts and calls are then a customer's); the decision that ends that work takes
-- it off the roster (lib.lua drop()). It may not accept an offer or set a status meanwhile.
-- KEYS: the common layout of lib.lua, with the phone book (PHONES).
-- ARGV[3] JSON: {agent}
-- Returns "removed" | "busy" | "unknown".
local a = agent_get(ARGS.agent)
if not a then return 'unknown' end
if a.state ~= 'idle' then
  free_del(a)
  on_set(a, false)
  a.status = 'offline'
  a.gone = 1
  if redis.call('HGET', PHONES, a.phone) == a.id then redis.call('HDEL', PHONES, a.phone) end
  agent_put(a)
  return 'busy'
end
drop(a)
return 'removed'
