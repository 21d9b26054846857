-- pin.lua: one PIN try of an agent (the agents' phone line; the desk's sign-in may share
-- it). Wrong tries are kept per agent and timed by the router's clock; max_wrong of them
-- within window_ms lock the agent's PIN entry for window_ms from the last of them. While
-- locked, a try is refused unchecked and not counted; a right PIN clears the count.
-- A standalone script (not prepended with lib.lua): it touches only its own key.
-- KEYS[1] the agent's tries (zset: wrong tries scored by time ms; member "lock" scored by
--         the time the lock ends). Its TTL only tidies away a quiet agent's key.
-- ARGV[1] now (ms, the router's clock), ARGV[2] window_ms, ARGV[3] max_wrong,
-- ARGV[4] "right" | "wrong" | "peek" (only asks whether PIN entry is locked),
-- ARGV[5] a random number (tries in one millisecond stay distinct).
-- Returns "ok" | "wrong" | "locked".
local key = KEYS[1]
local now, window, max_wrong = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local function ms(x) return string.format('%.0f', x) end
local lock_end = tonumber(redis.call('ZSCORE', key, 'lock') or '0')
if lock_end > now then return 'locked' end
if lock_end > 0 then redis.call('DEL', key) end  -- a lock that has run out: a fresh count
if ARGV[4] == 'peek' then return 'ok' end
if ARGV[4] == 'right' then
  redis.call('DEL', key)
  return 'ok'
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. ms(now - window))
redis.call('ZADD', key, ms(now), ms(now) .. ':' .. ARGV[5])
if redis.call('ZCARD', key) >= max_wrong then
  redis.call('DEL', key)
  redis.call('ZADD', key, ms(now + window), 'lock')
  redis.call('PEXPIRE', key, window)
  return 'locked'
end
redis.call('PEXPIRE', key, window)
return 'wrong'
