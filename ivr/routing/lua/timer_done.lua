-- timer_done.lua: delete a claimed timer, unless it was re-armed meanwhile (new score).
-- KEYS: the common layout of lib.lua (only KEYS[3], timers, is touched).
-- ARGV[3] JSON: {member, lease}
-- Returns 1 when deleted.
if redis.call('ZSCORE', TIMERS, ARGS.member) == ARGS.lease then
  return redis.call('ZREM', TIMERS, ARGS.member)
end
return 0
