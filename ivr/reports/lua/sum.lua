-- sum.lua: one queue's or agent's 15-minute counters added up into report intervals, in
-- Redis, so a long report sends back a few numbers per interval instead of every quarter.
-- KEYS: the interval hashes (one per UTC day) of one queue or agent
-- ARGV[1] JSON {edges = [slot, ...] (interval i covers slots edges[i] .. edges[i+1]-1),
--               counters = [name, ...], max = [names kept as a maximum, not a sum]}
-- Returns a flat list: interval 1's counters in `counters` order, then interval 2's, ...
local args = cjson.decode(ARGV[1])
local edges, counters = args.edges, args.counters
local n, m = #edges - 1, #counters
local col, ismax = {}, {}
for j, c in ipairs(counters) do col[c] = j end
for _, c in ipairs(args.max) do ismax[c] = true end
local first = edges[1]
local at = {}
for i = 1, n do
  for s = edges[i], edges[i + 1] - 1 do at[s - first] = i end
end
local out = {}
for i = 1, n * m do out[i] = 0 end
for _, key in ipairs(KEYS) do
  local flat = redis.call('HGETALL', key)
  for k = 1, #flat, 2 do
    local slot, counter = string.match(flat[k], '^(%d+):(.+)$')
    local i, j = at[(tonumber(slot) or -1) - first], col[counter]
    if i and j then
      local v = tonumber(flat[k + 1]) or 0
      local idx = (i - 1) * m + j
      if ismax[counter] then
        if v > out[idx] then out[idx] = v end
      else
        out[idx] = out[idx] + v
      end
    end
  end
end
return out
