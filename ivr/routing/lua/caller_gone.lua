-- caller_gone.lua: the caller's call ended (status callback). Waiting or ringing: abandoned,
-- and every offer of the call is withdrawn: the worker cancels the agent's call, and the
-- agent is free the moment that call has ended (its status callback, or the ring timer),
-- so an agent's phone never has two of our calls at once. Harmless for anyone else.
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {call = CallSid}
-- Connected with a consult going on: the consult ends (lib.lua's consult_over), and the
-- worker ends the target's call.
-- Returns {"none"} | {"abandoned" | "consult", {agent id, leg sid, ...}}.
local c = caller_get(ARGS.call)
if not c or c.kind == 'callback' then return {'none'} end
-- connected (or its agent's part just ended): only a consult going on ends with the call
if c.st == 'connected' or c.st == 'done' then
  local ended = consult_over(c)
  if #ended == 0 then return {'none'} end
  caller_put(c)
  return {'consult', ended}
end
if c.st ~= 'waiting' and c.st ~= 'offered' and c.st ~= 'overflowing' then return {'none'} end
local freed = withdraw_offers(c, nil)
redis.call('ZREM', bucket(c), c.id)
c.offers = {}
c.st = 'abandoned'
outcome(c, 'abandoned')
untimer('maxwait|' .. c.id)
forget(c)
caller_put(c)
-- a caller transferred into this queue (tq) has waited here since the transfer
event('abandon', {queue = c.q, call = c.id, wait = math.floor((NOW - (c.tq or c.t0)) / 1000)})
return {'abandoned', freed}
