-- Commit one voice turn with its answer, only if the webhook delivery is new:
-- the replay key gets the answer, the call's state is written (unless the
-- final status callback has already ended the call: a call that is over stays
-- over), the step counters are incremented and the calls in the flows updated.
-- A duplicate delivery writes nothing and gets the first delivery's answer.
-- KEYS[1]  the delivery's replay key (keys.replay(digest))
-- KEYS[2]  the call's state hash (keys.call(sid))
-- KEYS[3]  the calls in the flows (keys.calls_active())
-- KEYS[4..3+N]  the step-stats hash of each counter below (keys.step_stats(flow))
-- ARGV[1]  the replay key's TTL in seconds
-- ARGV[2]  the answer (TwiML)
-- ARGV[3]  "1" when this delivery already holds the claim (commit regardless)
-- ARGV[4]  the start of every pending marker (each delivery's marker adds its own id)
-- ARGV[5]  the state's TTL in seconds
-- ARGV[6]  the value of `ended` that means "hung up"
-- ARGV[7]  "add" (a new call), "rem" (the flow ended the call) or "" (neither)
-- ARGV[8]  the CallSid
-- ARGV[9]  the call's start time (its score in KEYS[3])
-- ARGV[10] the reaping bound for KEYS[3] ("(" .. start - longest call)
-- ARGV[11] N, the number of step counters
-- ARGV[12..11+N]  each counter's field ("<step>:reached")
-- ARGV[12+N..]    the state's fields: field, value, field, value, ...
-- Returns 1 when committed, 0 when another delivery holds the claim, else the first answer.
-- With the claim ours (ARGV[3] "1") the key holds our pending marker until we commit; an
-- answer there means this very commit ran already and is sent again because its reply
-- was lost with the connection (a failover, ivr.store.run_script): it is not applied twice.
local prior = redis.call('GET', KEYS[1])
local pending = prior and string.sub(prior, 1, #ARGV[4]) == ARGV[4]
if ARGV[3] ~= '1' then
  if pending then
    return 0
  elseif prior then
    return prior
  end
elseif prior and not pending then
  return 1
end
local n = tonumber(ARGV[11])
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[1])
if redis.call('HGET', KEYS[2], 'ended') ~= ARGV[6] then
  redis.call('HSET', KEYS[2], unpack(ARGV, 12 + n))
  redis.call('EXPIRE', KEYS[2], ARGV[5])
end
for i = 1, n do
  redis.call('HINCRBY', KEYS[3 + i], ARGV[11 + i], 1)
end
if ARGV[7] == 'add' then
  redis.call('ZADD', KEYS[3], ARGV[9], ARGV[8])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[10])
elseif ARGV[7] == 'rem' then
  redis.call('ZREM', KEYS[3], ARGV[8])
end
return 1
