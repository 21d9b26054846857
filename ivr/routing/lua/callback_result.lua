-- callback_result.lua: the agent's dial to a callback customer ended: reached, or tried
-- again later (keeping the original place) up to max_tries.
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {agent, token, status (DialCallStatus), max_tries, spacing_ms}
-- Returns "reached" | "retry" | "failed" | "stale".
local a = agent_get(ARGS.agent)
if not a or not a.offer or a.offer.token ~= ARGS.token then return 'stale' end
local c = caller_get(a.offer.call)
if not c or c.st ~= 'connected' or c.kind ~= 'callback' then return 'stale' end
c.tries = (c.tries or 0) + 1
local verdict
if ARGS.status == 'completed' or ARGS.status == 'answered' then
  verdict = 'reached'
  c.st = 'done'
  c.conn = NOW
  stat(c.q, 'callback_reached')
elseif c.tries < ARGS.max_tries then
  verdict = 'retry'
  c.st = 'retry'
  timer(NOW + ARGS.spacing_ms, 'cbretry|' .. c.id)
else
  verdict = 'failed'
  c.st = 'failed'
  stat(c.q, 'callback_failed')
end
caller_put(c)
event('callback_result', {queue = c.q, call = c.id, agent = a.id, result = verdict,
                          status = ARGS.status, try = c.tries})
return verdict
