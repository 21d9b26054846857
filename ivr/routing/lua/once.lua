-- once.lua: appended to every routing decision; ivr/routing/scripts.py wraps the
-- decision's own body in `decide()`, so that a decision sent twice is applied once and
-- answers the same both times. A second send happens when a worker's connection fails
-- after Redis applied the script but before its reply arrived: Sentinel promotes the
-- replica that had already received the write, and the client sends the command again
-- there (ivr/sentinel.py). Without this, the retry would find its own change and answer
-- as if another worker had decided first ("stale"): an agent who pressed 1 would be told
-- the caller was gone while the caller waits for them.
-- KEYS[#KEYS] this call's reply key (keys.acd("reply", request id)), after the layout.
-- ARGV[6] how long the reply is kept (ms).

-- The reply as Redis will send it (arrays end at the first nil, numbers are integers),
-- so the first answer and a replayed one are the same by construction.
local function canon(v)
  local t = type(v)
  if t == 'table' then
    if v.ok ~= nil or v.err ~= nil then return v end
    local out = {}
    local i = 1
    while v[i] ~= nil do
      out[i] = canon(v[i])
      i = i + 1
    end
    return out
  elseif t == 'number' then
    if v >= 0 then return math.floor(v) end
    return math.ceil(v)
  elseif t == 'boolean' then
    if v then return 1 end
    return false
  end
  return v
end

local REPLY = KEYS[#KEYS]
local kept = redis.call('GET', REPLY)
if kept then
  if kept == '' then return nil end
  return cjson.decode(kept)
end
local reply = decide()
if reply == nil then
  redis.call('SET', REPLY, '', 'PX', tonumber(ARGV[6]))
  return nil
end
reply = canon(reply)
redis.call('SET', REPLY, cjson.encode(reply), 'PX', tonumber(ARGV[6]))
return reply
