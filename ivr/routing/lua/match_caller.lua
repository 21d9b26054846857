-- match_caller.lua: look again for agents for a waiting caller (after a miss's rest, an
-- escalation step, a callback retry coming due).
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {call = id, escalate = index or nil}
-- Returns {offers}.
local c = caller_get(ARGS.call)
if not c then return {} end
if ARGS.escalate and c.esc then
  local step = c.esc[ARGS.escalate]
  if step and (c.st == 'waiting' or c.st == 'offered') then
    if c.st == 'waiting' then redis.call('ZREM', bucket(c), c.id) end
    c.skills = step.skills
    c.lvl = step.lvl
    c.escs = ARGS.escalate
    event('escalate', {queue = c.q, call = c.id, step = ARGS.escalate, min_level = c.lvl})
    if c.st == 'waiting' then requeue(c) end
    caller_put(c)
  end
end
if c.st == 'retry' then
  requeue(c)
  caller_put(c)
end
return match_caller(c)
