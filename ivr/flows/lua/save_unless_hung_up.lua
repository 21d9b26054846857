-- Write a call's flow state unless the call's final status callback has
-- already been handled (it may overtake the call's last action): a call that
-- is over stays over, and its state keeps the short TTL. One key, so valid on
-- Redis Cluster.
-- KEYS[1]  the call's state hash (keys.call(sid))
-- ARGV[1]  TTL in seconds
-- ARGV[2]  the value of the `ended` field that means "hung up"
-- ARGV[3..] field, value, field, value, ...
if redis.call('HGET', KEYS[1], 'ended') == ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
