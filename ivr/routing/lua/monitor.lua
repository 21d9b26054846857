-- monitor.lua: a supervisor's monitor leg on a connected call (ivr/routing/monitor.py).
-- One decision, so two requests at once place one call: the first records the leg as
-- dialling, the second finds it and only changes its mode.
-- KEYS: the common layout of lib.lua (scope "none"), then KEYS[#KEYS - 1] the call's
--   monitor hash (keys.monitor_leg: sup, mode, leg, agent, since), then the reply key
--   (once.lua).
-- ARGV[3] JSON: {call, op, sup?, mode?, leg?, why?}
--   op: start (sup, mode) | leg (the placed call's sid: leg) | stop (why) |
--       gone (the supervisor's call ended: leg)
-- Returns:
--   start: {"new", agent leg, ConferenceSid} | {"mode", supervisor leg ('' while it is
--          being placed), agent leg, ConferenceSid, old mode} | {"refused", why} | {"unknown"}
--   leg:   {"ok", mode} | {"stale"} (ended meanwhile: the worker hangs the leg up)
--   stop:  {"ok", leg} | {"none"}
--   gone:  {"ok"} | {"none"}
local MON = KEYS[#KEYS - 1]
local op = ARGS.op
local c = caller_get(ARGS.call)
local m = redis.call('HGETALL', MON)
local mon = nil
if #m > 0 then
  mon = {}
  for i = 1, #m, 2 do mon[m[i]] = m[i + 1] end
end
local q = (c and c.q) or ''
if op == 'start' then
  if not c or c.kind == 'callback' then return {'unknown'} end
  if c.st ~= 'connected' or not c.agent or not c.j then
    return {'refused', 'the call is not connected'}
  end
  local a = agent_get(c.agent)
  if not a or a.state ~= 'on-call' or not a.offer or a.offer.call ~= c.id then
    return {'refused', 'the call is not connected'}
  end
  if c.hng then return {'refused', 'the call is being hung up'} end
  if ARGS.mode == 'whisper' and not a.leg then
    return {'refused', "the agent's call is not known yet"}
  end
  if mon then
    if mon.sup ~= ARGS.sup then
      return {'refused', 'supervisor ' .. mon.sup .. ' is already on this call'}
    end
    local old = mon.mode
    redis.call('HSET', MON, 'mode', ARGS.mode, 'agent', a.id)
    if old ~= ARGS.mode then
      event('monitor_mode', {queue = q, call = c.id, agent = a.id, supervisor = ARGS.sup,
                             mode = ARGS.mode, was = old})
    end
    return {'mode', mon.leg or '', a.leg or '', c.cf or '', old}
  end
  redis.call('HSET', MON, 'sup', ARGS.sup, 'mode', ARGS.mode, 'leg', '', 'agent', a.id,
             'since', num(NOW))
  redis.call('PEXPIRE', MON, 86400000)
  event('monitor', {queue = q, call = c.id, agent = a.id, supervisor = ARGS.sup,
                    mode = ARGS.mode})
  return {'new', a.leg or '', c.cf or ''}
elseif op == 'leg' then
  if not mon or mon.leg ~= '' then return {'stale'} end
  redis.call('HSET', MON, 'leg', ARGS.leg)
  return {'ok', mon.mode}
elseif op == 'stop' then
  if not mon then return {'none'} end
  redis.call('DEL', MON)
  event('monitor_end', {queue = q, call = ARGS.call, supervisor = mon.sup,
                        agent = mon.agent or '', why = ARGS.why or 'stop'})
  return {'ok', mon.leg or ''}
elseif op == 'gone' then
  if not mon or mon.leg ~= ARGS.leg then return {'none'} end
  redis.call('DEL', MON)
  event('monitor_end', {queue = q, call = ARGS.call, supervisor = mon.sup,
                        agent = mon.agent or '', why = 'hangup'})
  return {'ok'}
end
return {'refused', 'unknown monitor op ' .. tostring(op)}
