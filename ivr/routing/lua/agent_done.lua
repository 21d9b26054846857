-- agent_done.lua: the agent's leg of a connected call ended: talk time counted, then
-- wrap-up (a timer) or, with wrap_up 0, free and matched at once; an agent removed from the
-- roster during the call leaves it now.
-- KEYS: the common layout of lib.lua, with the phone book (PHONES: drop()).
-- ARGV[3] JSON: {agent, token, wrap_ms}
-- Returns {"stale"} | {"wrap-up", {}, ended} | {"free", {offers}, ended} | {"removed", {},
-- ended} (the agent had been taken off the roster during the call, remove.lua); ended: a
-- consult's target call to end, {target agent id or "", leg sid} or {} (lib.lua's
-- consult_over).
local a = agent_get(ARGS.agent)
if not a or a.state ~= 'on-call' or not a.offer or a.offer.token ~= ARGS.token then
  return {'stale'}
end
local c = caller_get(a.offer.call)
local talk = 0
-- moved: the caller was transferred away (control.lua), or this agent was only consulted
-- (cs); the part counts to the queue the agent answered, with the hold it had, and the
-- caller's record is no longer this call's
local moved = a.offer.moved
-- the agent whose call it is: a consult going on ends with their call (lib.lua)
local ended = {}
if c then
  local q = moved and moved.q or c.q
  local held
  if moved then
    held = moved.hold or 0
  else
    hold_off(c)  -- the call is over, and so is any hold
    ended = consult_over(c)
    held = math.max(0, held_ms(c) - (c.h0 or 0))
    if c.st == 'connected' then c.st = 'done' end
    if c.st == 'done' or c.st == 'failed' then forget(c) end
  end
  -- talk excludes the hold of the agent's part
  local span = NOW - ((moved and moved.conn) or c.conn or NOW)
  talk = math.floor(math.max(0, span - held) / 1000)
  local hold = math.floor(held / 1000)
  local consulted = moved and moved.cs
  -- lost: the caller hung up before joining this agent (unconnect.lua): not their talk
  local lost = moved and moved.lost
  if not consulted and not lost then c.tk = (c.tk or 0) + talk end
  caller_put(c)
  stat(q, 'talk_total', talk)
  stat(q, 'completed')
  local handle = talk + hold + math.floor(ARGS.wrap_ms / 1000)
  local old = tonumber(redis.call('HGET', AHT, q) or '')
  local new = old and (0.7 * old + 0.3 * handle) or handle
  redis.call('HSET', AHT, q, string.format('%.1f', new))
  -- ctalk: the caller's talk so far (their contact record takes it); consult: a part
  -- that was only a consult
  local fields = {queue = q, call = c.id, agent = a.id, talk = talk, hold = hold,
                  wrap = math.floor(ARGS.wrap_ms / 1000), ctalk = c.tk or 0}
  if consulted then fields.consult = 1 end
  if lost then fields.lost = 1 end
  event('complete', fields)
end
a.talk = (a.talk or 0) + talk
if a.gone then  -- removed from the roster during the call: leaves now
  drop(a)
  return {'removed', {}, ended}
end
if ARGS.wrap_ms > 0 then
  a.state = 'wrap-up'
  a.state_since = NOW
  agent_put(a)
  timer(NOW + ARGS.wrap_ms, 'wrap|' .. a.id .. '|' .. ARGS.token)
  return {'wrap-up', {}, ended}
end
release(a)
agent_put(a)
return {'free', match_agent(agent_get(a.id)), ended}
