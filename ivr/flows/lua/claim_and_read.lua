-- Claim a webhook delivery and read the call's state in one round trip: the
-- first half of a continuation (Gather action, Redirect, ...). A duplicate
-- delivery reads nothing and gets the replay key's value instead (the first
-- delivery's answer, or the pending marker while it is still at work).
-- KEYS[1]  the delivery's replay key (keys.replay(digest))
-- KEYS[2]  the call's state hash (keys.call(sid))
-- ARGV[1]  the replay key's TTL in seconds
-- ARGV[2]  this delivery's pending marker (ivr/replay.py: unique per delivery)
-- ARGV[3]  "1" when this delivery already holds the claim
-- Returns {1, {field, value, ...}} when the claim is ours, {0, value of KEYS[1]} if not.
-- The key holding our own marker is ours: this very call, sent again by the client after
-- a failover lost its reply, must not take itself for a duplicate.
if ARGV[3] ~= '1' and not redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', ARGV[1]) then
  local held = redis.call('GET', KEYS[1])
  if held ~= ARGV[2] then
    return {0, held}
  end
end
return {1, redis.call('HGETALL', KEYS[2])}
