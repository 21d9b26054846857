-- control.lua: one call control on a connected call (ivr/routing/control.py). Each is one
-- decision, so two at once cannot both apply: the first changes the caller's state, the
-- second finds it changed and is refused. The Twilio requests (participant updates, REST
-- moves) follow in the worker once the decision is taken.
-- KEYS: the common layout of lib.lua; for "queue", the target queue's lines and skills.
-- ARGV[3] JSON: {call, op, to?, q?, skills?, lvl?, strat?, ring?, sl?}
--   op: hold | resume | hangup | queue (cold transfer back in line: original place, the
--       target queue's requirements) | number (cold transfer to a phone number) |
--       agent (cold transfer: an offer to that agent only; ARGV target = agent id) |
--       consult (warm: caller held, target added; ARGV to, target = agent id or nil) |
--       xleg (the consult's call sid, ARGV leg) | complete | three_way | cancel
-- Returns {"ok", agent id, agent leg, ConferenceSid, queue, {offers}} | {"refused", why}
--       | {"unknown"}.
local c = caller_get(ARGS.call)
if not c or c.kind == 'callback' then return {'unknown'} end
if c.st ~= 'connected' or not c.agent then return {'refused', 'the call is not connected'} end
local a = agent_get(c.agent)
if not a or a.state ~= 'on-call' or not a.offer or a.offer.call ~= c.id then
  return {'refused', 'the call is not connected'}
end
local op = ARGS.op
local old_q = c.q
local function ok(offers)
  return {'ok', a.id, a.leg or '', c.cf or '', old_q, offers or {}}
end
if c.hng then return {'refused', 'the call is being hung up'} end
-- --- a consult (warm transfer) going on: c.x = {kind = 'consult', to, agent?, token?,
-- leg?, st = 'consult' | 'three'}
local x = c.x
if op == 'xleg' or op == 'complete' or op == 'three_way' or op == 'cancel' then
  if not x or x.kind ~= 'consult' then return {'refused', 'no consult was started on this call'} end
  local t = x.agent and agent_get(x.agent) or nil
  local leg = (t and t.leg) or x.leg or ''
  if op == 'xleg' then
    x.leg = ARGS.leg
    caller_put(c)
    return ok()
  elseif op == 'cancel' then
    c.x = nil
    hold_off(c)
    caller_put(c)
    event('consult', {queue = c.q, call = c.id, agent = a.id, to = x.to, result = 'cancel'})
    return ok({leg})
  elseif op == 'three_way' then
    if x.st ~= 'consult' then return {'refused', 'already talking three-way'} end
    x.st = 'three'
    hold_off(c)
    caller_put(c)
    event('three-way', {queue = c.q, call = c.id, agent = a.id, to = x.to})
    return ok({leg})
  end
  -- complete: the agent leaves; the caller stays with the target, who must still be on
  -- this consult (one who hung up is free again, maybe ringing for another caller)
  if x.agent and not (t and t.state == 'on-call' and t.offer and t.offer.token == x.token) then
    return {'refused', 'the consulted agent has left the call'}
  end
  a.offer.moved = part_moved(c)
  agent_put(a)
  event('transfer', {queue = c.q, call = c.id, agent = a.id, to = x.to, warm = 1})
  c.tr = (c.tr or 0) + 1
  c.x = nil
  if t then
    t.offer.moved = nil  -- the call is theirs now: their hang-up ends it (agent_done.lua)
    agent_put(t)
    c.agent = t.id
    c.conn = NOW
    served_by(c, t.id)
  else
    -- a phone number: the call is no longer routing's (controls refused from now on)
    c.st = 'done'
    forget(c)
  end
  caller_put(c)
  return ok({leg})
end
if c.x then return {'refused', 'the call is being transferred'} end
if op == 'hangup' then
  c.hng = 1
  caller_put(c)
  return ok()
end
if not c.j then return {'refused', 'the caller has not joined the call yet'} end
if op == 'hold' then
  if c.hd then return {'refused', 'the caller is already on hold'} end
  hold_on(c)
  caller_put(c)
  event('hold', {queue = c.q, call = c.id, agent = a.id})
  return ok()
elseif op == 'resume' then
  if not c.hd then return {'refused', 'the caller is not on hold'} end
  hold_off(c)
  caller_put(c)
  event('resume', {queue = c.q, call = c.id, agent = a.id})
  return ok()
elseif op == 'number' then
  c.x = {kind = 'number', to = ARGS.to}
  hold_off(c)
  c.tr = (c.tr or 0) + 1
  caller_put(c)
  event('transfer', {queue = c.q, call = c.id, agent = a.id, to = ARGS.to})
  return ok()
elseif op == 'queue' then
  -- The agent's part is over: their leg's status callback (agent_done.lua) counts the talk
  -- to the queue they answered, from when they did.
  a.offer.moved = part_moved(c)
  agent_put(a)
  event('transfer', {queue = c.q, call = c.id, agent = a.id, to = 'queue:' .. ARGS.q})
  c.tr = (c.tr or 0) + 1
  -- back in line with the original place (t0 and priority kept); the target queue's
  -- requirements; no max wait, no escalation: their wait was served once already.
  c.q = ARGS.q
  c.skills = ARGS.skills
  c.lvl = ARGS.lvl
  c.strat = ARGS.strat
  c.ring = ARGS.ring
  c.sl = ARGS.sl
  c.esc = {}
  c.dl = nil
  c.agent = nil
  c.j = nil
  c.cf = nil
  c.conn = nil
  c.offers = {}
  c.tq = NOW  -- offered in the target queue from now (the reports count it there)
  requeue(c)
  return ok(match_caller(c))
elseif op == 'consult' then
  -- warm transfer: the caller is held while the target is added to the conference
  local t = nil
  if ARGS.target then
    t = agent_get(ARGS.target)
    if not t or t.gone then return {'refused', 'no such agent'} end
    if t.id == a.id then return {'refused', 'the call is already with that agent'} end
    if not is_free(t) then return {'refused', 'that agent is not available'} end
  end
  c.n = (c.n or 0) + 1
  local x = {kind = 'consult', to = ARGS.to, st = 'consult'}
  if t then
    -- busy with this call from now (one offer or call at a time); their leg's status
    -- callback ends it like any agent call (agent_done.lua: talk counted, wrap-up)
    local token = c.id .. '.' .. c.n .. '.' .. t.id
    t.state = 'on-call'
    t.state_since = NOW
    -- cs: only consulted (until a complete hands them the call): their part is not the
    -- caller's talk, and they are not among the agents who served the caller
    t.offer = {call = c.id, token = token, queue = c.q,
               moved = {q = c.q, conn = NOW, hold = 0, cs = 1}}
    t.leg = nil
    free_del(t)
    agent_put(t)
    -- as for any agent's call: if that call's status callback is ever lost, this check
    -- asks Twilio about it (so the target is never left on-call for good)
    timer(NOW + CTX.check * 1000, 'check|' .. t.id .. '|' .. token)
    x.agent = t.id
    x.token = token
  end
  c.x = x
  hold_on(c)
  caller_put(c)
  event('consult', {queue = c.q, call = c.id, agent = a.id, to = ARGS.to})
  return ok({x.token or ''})
elseif op == 'agent' then
  -- offered to that agent only (an offer as any other: whisper, press 1); a miss puts the
  -- caller back in line in their queue with their place (miss.lua)
  local t = agent_get(ARGS.target)
  if not t or t.gone then return {'refused', 'no such agent'} end
  if t.id == a.id then return {'refused', 'the call is already with that agent'} end
  if not is_free(t) then return {'refused', 'that agent is not available'} end
  a.offer.moved = part_moved(c)
  agent_put(a)
  event('transfer', {queue = c.q, call = c.id, agent = a.id, to = 'agent:' .. t.id})
  c.tr = (c.tr or 0) + 1
  c.agent = nil
  c.j = nil
  c.cf = nil
  c.conn = nil
  c.dl = nil
  c.esc = {}
  c.offers = {}
  c.st = 'offered'
  local offered = offer(c, t)
  caller_put(c)
  return ok({offered})
end
return {'refused', 'unknown control ' .. tostring(op)}
