-- Claim a webhook delivery and read the call's state in one round trip: the
-- first half of a continuation (Gather action, Redirect, ...). A duplicate
-- delivery reads nothing and gets the replay key's value instead (the first
-- delivery's answer, or the pending marker while it is still at work).
-- KEYS[1]  the delivery's replay key (keys.replay(digest))
-- KEYS[2]  the call's state hash (keys.call(sid))
-- ARGV[1]  the replay key's TTL in seconds
-- ARGV[2]  the pending marker
-- ARGV[3]  "1" when this delivery already holds the claim
-- Returns {1, {field, value, ...}} when the claim is ours, {0, value of KEYS[1]} if not.
if ARGV[3] ~= '1' and not redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', ARGV[1]) then
  return {0, redis.call('GET', KEYS[1])}
end
return {1, redis.call('HGETALL', KEYS[2])}
