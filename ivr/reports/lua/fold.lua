-- fold.lua: add one batch of routing events, folded into 15-minute counters, exactly once.
-- Two workers may fold the same batch at the same time; only the one whose starting cursor
-- is still the stored one applies it (compare-and-set), the other finds nothing left to do.
-- KEYS[1] cursor (string: id of the last event folded), KEYS[2] agents' timeline (string,
--         JSON), KEYS[3..] the interval hashes the batch touches ("<slot>:<counter>" -> int)
-- ARGV[1] the cursor the batch was read after ("" before the first fold), ARGV[2] the id of
--         the batch's last event, ARGV[3] the agents' timeline after the batch (JSON),
--         ARGV[4] JSON list of expiry times (epoch s), one per hash (KEYS[3..]),
--         ARGV[5] JSON list of {hash index (1 = KEYS[3]), field, "+" | "max", value}
-- Returns 1 when applied, 0 when another worker had folded from that cursor already.
-- A whole number as Redis reads one: rounded, and never "-0" (a negated zero), which
-- HINCRBY refuses as not an integer.
local function int(x) return string.format('%d', math.floor(x + 0.5)) end
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
local expiry = cjson.decode(ARGV[4])
for _, op in ipairs(cjson.decode(ARGV[5])) do
  local key, field, how, value = KEYS[op[1] + 2], op[2], op[3], op[4]
  if how == 'max' then
    local cur = tonumber(redis.call('HGET', key, field) or '')
    if not cur or value > cur then
      redis.call('HSET', key, field, int(value))
    end
  else
    redis.call('HINCRBY', key, field, int(value))
  end
end
for i, at in ipairs(expiry) do
  redis.call('EXPIREAT', KEYS[i + 2], string.format('%.0f', at))
end
return 1
