-- enter.lua: a caller joins a queue (idempotent per caller id), then is matched at once.
-- KEYS: the common layout of lib.lua (agents, callers, timers, events, stats, aht, free:*,
--       on:*, wait:<queue> ...).
-- ARGV[3] JSON: {caller = {id, q, p, t0, skills, lvl, strat, ring, sl, kind, from, to, flow,
--                step, action, esc, out?, via?}, timers = {{due_ms, member}, ...},
--                overflow_if_nobody = bool, reach = {skills, lvl}: the loosest requirements
--                the caller will reach by escalation (who counts as "logged in" for them)}
-- Returns {"queued", {offers}} | {"dup", state} | {"overflow"}; an offer is
-- {caller id, agent id, token, agent phone, kind, service number, queue}.
local existing = caller_get(ARGS.caller.id)
if existing then return {'dup', existing.st} end
local c = ARGS.caller
c.offers = {}
c.n = 0
stat(c.q, 'offered')
event('enter', {queue = c.q, call = c.id, priority = c.p, kind = c.kind})
if c.out == 'callback' then
  c.out = nil
  outcome(c, 'callback')
  event('callback', {queue = c.q, call = c.id, number = c.from, via = c.via or 'sms'})
elseif ARGS.overflow_if_nobody and anyone_logged_in(ARGS.reach) == 0 then
  c.st = 'overflowed'
  outcome(c, 'overflowed')
  forget(c)
  caller_put(c)
  event('overflow', {queue = c.q, call = c.id, reason = 'nobody logged in', wait = 0})
  return {'overflow'}
end
requeue(c)
for _, t in ipairs(ARGS.timers) do timer(t[1], t[2]) end
return {'queued', match_caller(c)}
