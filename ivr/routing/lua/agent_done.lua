-- agent_done.lua: the agent's leg of a connected call ended: talk time counted, then
-- wrap-up (a timer) or, with wrap_up 0, free and matched at once; an agent removed from the
-- roster during the call leaves it now.
-- KEYS: the common layout of lib.lua, with the phone book (PHONES: drop()).
-- ARGV[3] JSON: {agent, token, wrap_ms}
-- Returns {"stale"} | {"wrap-up"} | {"free", {offers}} | {"removed"} (the agent had been
-- taken off the roster during the call, remove.lua).
local a = agent_get(ARGS.agent)
if not a or a.state ~= 'on-call' or not a.offer or a.offer.token ~= ARGS.token then
  return {'stale'}
end
local c = caller_get(a.offer.call)
local talk = 0
-- moved: the caller was transferred back into a line (control.lua); the talk counts to the
-- queue the agent answered, and the caller's record is no longer this call's
local moved = a.offer.moved
if c then
  local q = moved and moved.q or c.q
  talk = math.floor((NOW - ((moved and moved.conn) or c.conn or NOW)) / 1000)
  if not moved then
    if c.st == 'connected' then c.st = 'done' end
    if c.st == 'done' or c.st == 'failed' then forget(c) end
    caller_put(c)
  end
  stat(q, 'talk_total', talk)
  stat(q, 'completed')
  local handle = talk + math.floor(ARGS.wrap_ms / 1000)
  local old = tonumber(redis.call('HGET', AHT, q) or '')
  local new = old and (0.7 * old + 0.3 * handle) or handle
  redis.call('HSET', AHT, q, string.format('%.1f', new))
  event('complete', {queue = q, call = c.id, agent = a.id, talk = talk,
                     wrap = math.floor(ARGS.wrap_ms / 1000)})
end
a.talk = (a.talk or 0) + talk
if a.gone then  -- removed from the roster during the call: leaves now
  drop(a)
  return {'removed'}
end
if ARGS.wrap_ms > 0 then
  a.state = 'wrap-up'
  a.state_since = NOW
  agent_put(a)
  timer(NOW + ARGS.wrap_ms, 'wrap|' .. a.id .. '|' .. ARGS.token)
  return {'wrap-up'}
end
release(a)
agent_put(a)
return {'free', match_agent(agent_get(a.id))}
