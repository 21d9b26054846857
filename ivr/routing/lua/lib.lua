-- lib.lua: helpers shared by every routing script; ivr/routing/scripts.py prepends
-- this file to each script before registering it, so each decision stays ONE script.
--
-- Key layout common to every script (all keys carry the {acd} hash tag):
--   KEYS[1] agents   hash   agent id -> agent JSON (status, state, offer, counters)
--   KEYS[2] callers  hash   caller id (CallSid, or cb-... for texted callbacks) -> caller JSON
--   KEYS[3] timers   zset   "kind|arg|arg" scored by due time (ms)
--   KEYS[4] events   stream capped event log (XADD MAXLEN ~)
--   KEYS[5] stats    hash   "queue|date|counter" -> integer, since midnight in the queue's zone
--   KEYS[6] aht      hash   queue -> recent average handle time (seconds, moving average)
--   KEYS[7]  buckets hash   every waiting-line bucket name ("queue#skills/level") -> 1
--   KEYS[8]  skills  set    every skill any agent has
--   KEYS[9]  phones  hash   agent phone -> agent id (the phone book of texts and calls), only
--            for the scripts that change the roster (LAYOUT.phones = 9; else 0 and KEYS[9]
--            is the first of the next ones)
--   KEYS[9 or 10..] named by their last part: ...:free:<skill> (zset of free agents by idle time,
--            "*" = all), ...:on:<skill> (set of logged-in agents), ...:wait:<queue>#<sig>
--            (zset of waiting callers of one queue with the same requirements, sig =
--            "skill,skill/min_level"; score = (100 - priority) * 1e13 + enqueue ms).
-- Why buckets: an agent-side decision looks at the head of each bucket whose requirements
-- it meets, never scanning past callers it cannot take. Every bucket a caller can reach
-- (escalation included) is registered before the caller enters; a script that sees more
-- buckets (or skills) registered than declared refuses (STALE), and the worker reloads its
-- lists and retries, so no agent is ever indexed under fewer skills than it has.
-- ARGV[1] now (ms of the router's clock: no script reads the server's time), ARGV[2] context
--         JSON {dates = {queue = "YYYY-MM-DD"}, day, maxlen, scan, scanmax, ringall, grace,
--         keep, check}, ARGV[3] the script's own arguments as JSON,
--         ARGV[4] the key layout JSON {free = {name = KEYS index}, on = {...}, wait = {name =
--         {KEYS index, skills, level}}, phones = 9 or 0, nwait = n or -1, nskills = n or -1}
--         (so no key name is parsed here; a script may be given only the keys it needs: nwait -1 means "not
--         every bucket", and such a script must not match agents against every queue;
--         nskills -1 means the skills given are the ones it needs), ARGV[5] a random number
--         in [0, 1).
--
-- Per-skill free sets are cleaned lazily: an agent chosen through one skill's set is
-- removed from the sets this script declared; a stale entry elsewhere is dropped when a
-- later scan finds the agent not free. Every ZADD into them is done with the agent's own
-- skill keys declared by the caller of the script.

local AGENTS, CALLERS, TIMERS, EVENTS, STATS, AHT = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local NOW = tonumber(ARGV[1])
local CTX = cjson.decode(ARGV[2])
local ARGS = cjson.decode(ARGV[3])
local BUCKETS, SKILLSET = KEYS[7], KEYS[8]
local LAYOUT = cjson.decode(ARGV[4])
local RAND = tonumber(ARGV[5])
local PHONES = LAYOUT.phones > 0 and KEYS[LAYOUT.phones] or nil
local FREE, ON, WAIT, NEEDS = {}, {}, {}, {}
for name, i in pairs(LAYOUT.free) do FREE[name] = KEYS[i] end
for name, i in pairs(LAYOUT.on) do ON[name] = KEYS[i] end
for name, w in pairs(LAYOUT.wait) do
  WAIT[name] = KEYS[w[1]]
  NEEDS[name] = {skills = w[2], lvl = w[3]}
end
if (LAYOUT.nwait >= 0 and redis.call('HLEN', BUCKETS) ~= LAYOUT.nwait) or
   (LAYOUT.nskills >= 0 and redis.call('SCARD', SKILLSET) ~= LAYOUT.nskills) then
  return redis.error_reply('STALE routing buckets: reload and retry')
end

local function num(x) return string.format('%.0f', x) end

local function agent_get(id)
  local raw = redis.call('HGET', AGENTS, id)
  if not raw then return nil end
  local a = cjson.decode(raw)
  if a.day ~= CTX.day then a.day = CTX.day; a.calls = 0; a.talk = 0 end
  return a
end
local function agent_put(a) redis.call('HSET', AGENTS, a.id, cjson.encode(a)) end
local function caller_get(id)
  local raw = redis.call('HGET', CALLERS, id)
  if not raw then return nil end
  return cjson.decode(raw)
end
local function caller_put(c) redis.call('HSET', CALLERS, c.id, cjson.encode(c)) end

-- An event's id carries the router's clock (NOW), like its `at` field: never the server's
-- time, so a router on a simulated clock reads its own times back. Stream ids must grow:
-- when NOW is behind the last id (another host's clock, a simulation started again), the
-- event is filed at the last id's millisecond (Redis numbers the sequence part).
local function event(kind, fields)
  local args = {'XADD', EVENTS, 'MAXLEN', '~', tostring(CTX.maxlen), num(NOW) .. '-*',
                'type', kind, 'at', num(NOW)}
  for k, v in pairs(fields) do
    args[#args + 1] = k
    args[#args + 1] = type(v) == 'number' and num(v) or tostring(v)
  end
  local added = redis.pcall(unpack(args))
  if type(added) == 'table' and added.err then
    local info = redis.call('XINFO', 'STREAM', EVENTS)
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then
        args[6] = string.match(info[i + 1], '^(%d+)') .. '-*'
      end
    end
    redis.call(unpack(args))
  end
end

local function stat(queue, field, by)
  local date = CTX.dates[queue] or CTX.day
  -- '%d', not the number itself: Lua's -0 (a negated zero wait) reaches Redis as "-0",
  -- which HINCRBY refuses as not an integer.
  redis.call('HINCRBY', STATS, queue .. '|' .. date .. '|' .. field,
             string.format('%d', by or 1))
end

local function timer(due, member) redis.call('ZADD', TIMERS, num(due), member) end
local function untimer(member) redis.call('ZREM', TIMERS, member) end

-- A finished caller's record is kept a while (late webhooks, the API), then forgotten.
local function forget(c) timer(NOW + CTX.keep * 1000, 'forget|' .. c.id) end

-- The caller's bucket: queue and current requirements.
local function bucket(c)
  local skills = {}
  for i, s in ipairs(c.skills) do skills[i] = s end
  table.sort(skills)
  local key = WAIT[c.q .. '#' .. table.concat(skills, ',') .. '/' .. c.lvl]
  if not key then error('routing bucket not declared for ' .. c.id) end
  return key
end

local function score(c) return (100 - c.p) * 1e13 + c.t0 end

local function is_free(a)
  return a.status == 'available' and a.state == 'idle'
end

local function eligible(a, c)
  if c.mb == a.id and NOW < (c.mu or 0) then return false end
  for _, s in ipairs(c.skills) do
    if (a.skills[s] or 0) < c.lvl then return false end
  end
  return true
end

local function free_add(a)
  local idle = num(a.idle)
  redis.call('ZADD', FREE['*'], idle, a.id)
  for s, _ in pairs(a.skills) do
    if FREE[s] then redis.call('ZADD', FREE[s], idle, a.id) end
  end
end

local function free_del(a)
  redis.call('ZREM', FREE['*'], a.id)
  for s, _ in pairs(a.skills) do
    if FREE[s] then redis.call('ZREM', FREE[s], a.id) end
  end
end

local function on_set(a, on)
  local verb = on and 'SADD' or 'SREM'
  redis.call(verb, ON['*'], a.id)
  for s, _ in pairs(a.skills) do
    if ON[s] then redis.call(verb, ON[s], a.id) end
  end
end

-- Take an agent off the roster: record, free and logged-in sets, phone book entry. For an
-- agent removed while busy (remove.lua marks it gone), the decision that ends that call,
-- wrap-up or offer calls this (agent_done.lua, wrap_end.lua, miss.lua).
local function drop(a)
  if not PHONES then error('phone book not declared for dropping ' .. a.id) end
  free_del(a)
  on_set(a, false)
  if a.phone and redis.call('HGET', PHONES, a.phone) == a.id then redis.call('HDEL', PHONES, a.phone) end
  redis.call('HDEL', AGENTS, a.id)
  event('status', {agent = a.id, status = 'removed', source = 'roster'})
end

-- The agent is idle again (after a call, a miss, a cancelled offer).
local function release(a)
  a.state = 'idle'
  a.state_since = NOW
  a.idle = NOW
  a.offer = nil
  a.leg = nil
  if a.status == 'available' then free_add(a) end
end

-- Is anyone logged in (available or on break) who could ever take this caller?
local function anyone_logged_in(c)
  local key = ON['*']
  local best = nil
  for _, s in ipairs(c.skills) do
    local k = ON[s]
    if not k then return 1 end  -- undeclared: cannot tell, do not overflow
    if not best or redis.call('SCARD', k) < redis.call('SCARD', best) then best = k end
  end
  key = best or key
  if c.lvl <= 1 then
    -- everyone in a skill's logged-in set has that skill at level 1 or more
    if #c.skills <= 1 then return redis.call('SCARD', key) > 0 and 1 or 0 end
    local args = {'SINTERCARD', #c.skills}
    for _, s in ipairs(c.skills) do args[#args + 1] = ON[s] end
    args[#args + 1] = 'LIMIT'
    args[#args + 1] = 1
    return redis.call(unpack(args)) > 0 and 1 or 0
  end
  local cursor = '0'
  for _ = 1, 100 do
    local page = redis.call('SSCAN', key, cursor, 'COUNT', 20)
    cursor = page[1]
    for _, id in ipairs(page[2]) do
      local a = agent_get(id)
      if a and a.status ~= 'offline' and eligible(a, {skills = c.skills, lvl = c.lvl}) then return 1 end
    end
    if cursor == '0' then return 0 end
  end
  return 1  -- searched long enough: assume someone, let max_wait decide
end

-- Free agents eligible for caller c, in longest-idle order, at most `want` of them.
local function candidates(c, want)
  local key = FREE['*']
  local best_card = nil
  for _, s in ipairs(c.skills) do
    local k = FREE[s]
    if k then
      local card = redis.call('ZCARD', k)
      if not best_card or card < best_card then key = k; best_card = card end
    end
  end
  local found = {}
  if #c.skills >= 2 then
    -- Agents free in every required skill's set, longest idle first (ZINTER runs in C;
    -- a stale entry is skipped by the freshness check below).
    local args = {'ZINTER', #c.skills}
    for _, s in ipairs(c.skills) do
      if not FREE[s] then args = nil; break end
      args[#args + 1] = FREE[s]
    end
    if args then
      args[#args + 1] = 'AGGREGATE'
      args[#args + 1] = 'MAX'
      local scanned = 0
      for _, id in ipairs(redis.call(unpack(args))) do
        scanned = scanned + 1
        if scanned > CTX.scanmax then break end
        local a = agent_get(id)
        if a and is_free(a) and eligible(a, c) then
          found[#found + 1] = a
          if #found >= want then break end
        end
      end
      return found
    end
  end
  local start, batch, scanned = 0, 64, 0
  while #found < want and scanned < CTX.scanmax do
    local ids = redis.call('ZRANGE', key, start, start + batch - 1)
    if #ids == 0 then break end
    local stale = 0
    for _, id in ipairs(ids) do
      scanned = scanned + 1
      local a = agent_get(id)
      if not a or not is_free(a) then
        redis.call('ZREM', key, id)
        stale = stale + 1
      elseif eligible(a, c) then
        found[#found + 1] = a
        if #found >= want then break end
      end
    end
    start = start + batch - stale
  end
  return found
end

local function level_sum(a, c)
  local total = 0
  if #c.skills == 0 then
    for _, l in pairs(a.skills) do if l > total then total = l end end
    return total
  end
  for _, s in ipairs(c.skills) do total = total + (a.skills[s] or 0) end
  return total
end

-- Pick agents for caller c by the queue's strategy (candidates are in idle order, so
-- "first best" ties go to the longest idle).
local function choose(c)
  local strategy = c.strat
  if strategy == 'longest-idle' then return candidates(c, 1) end
  if strategy == 'ring-all' then return candidates(c, CTX.ringall) end
  local cands = candidates(c, CTX.scan)
  if #cands == 0 then return cands end
  if strategy == 'random' then
    return {cands[1 + math.floor(RAND * #cands) % #cands]}
  end
  local best, best_value = nil, nil
  for _, a in ipairs(cands) do
    local v
    if strategy == 'round-robin' then v = a.last_offer or 0
    elseif strategy == 'fewest-calls' then v = a.calls or 0
    elseif strategy == 'least-talk-time' then v = a.talk or 0
    elseif strategy == 'most-skilled' then v = -level_sum(a, c)
    else v = 0 end
    if best_value == nil or v < best_value then best, best_value = a, v end
  end
  return {best}
end

-- Mark agent a offered caller c (the caller's own state is the caller's business).
local function offer(c, a)
  c.n = (c.n or 0) + 1
  local token = c.id .. '.' .. c.n .. '.' .. a.id
  a.state = 'offered'
  a.state_since = NOW
  a.last_offer = NOW
  a.offer = {call = c.id, token = token, queue = c.q}
  a.leg = nil
  free_del(a)
  agent_put(a)
  c.offers[a.id] = token
  timer(NOW + (c.ring + CTX.grace) * 1000, 'ring|' .. a.id .. '|' .. token)
  event('offer', {queue = c.q, call = c.id, agent = a.id, wait = math.floor((NOW - c.t0) / 1000)})
  return {c.id, a.id, token, a.phone, c.kind, c.to or '', c.q}
end

-- Withdraw caller c's live offers (all but the one to agent `keep`): each such agent's
-- offer is marked gone (their call is then ended by the worker, and its status callback
-- frees them). Returns {agent id, leg sid, ...} for the worker.
local function withdraw_offers(c, keep)
  local withdrawn = {}
  for id, tok in pairs(c.offers) do
    if id ~= keep then
      local o = agent_get(id)
      if o and o.state == 'offered' and o.offer and o.offer.token == tok then
        withdrawn[#withdrawn + 1] = id
        withdrawn[#withdrawn + 1] = o.leg or ''
        o.offer.gone = 1
        agent_put(o)
      end
    end
  end
  return withdrawn
end

local function take(c, offers)
  if #offers > 0 then
    c.st = 'offered'
    redis.call('ZREM', bucket(c), c.id)
  end
  caller_put(c)
end

-- Caller-side match: a caller waits, find agents.
local function match_caller(c)
  if not c or c.st ~= 'waiting' then return {} end
  local offers = {}
  for _, a in ipairs(choose(c)) do offers[#offers + 1] = offer(c, a) end
  take(c, offers)
  return offers
end

-- Agent-side match: an agent is free, find the best caller it may take: highest
-- priority, then longest waiting, over every queue.
local function match_agent(a)
  if not a or not is_free(a) then return {} end
  local best, best_score = nil, nil
  for name, key in pairs(WAIT) do
    local start, batch, scanned = 0, 1, 0  -- the head is nearly always the one
    local done = not eligible(a, NEEDS[name])
    while not done and scanned < CTX.scanmax do
      local page = redis.call('ZRANGE', key, start, start + batch - 1, 'WITHSCORES')
      if #page == 0 then break end
      local stale = 0
      for i = 1, #page, 2 do
        local sc = tonumber(page[i + 1])
        if best_score and sc >= best_score then done = true; break end
        scanned = scanned + 1
        local c = caller_get(page[i])
        if not c or c.st ~= 'waiting' then
          redis.call('ZREM', key, page[i])
          stale = stale + 1
        elseif eligible(a, c) then
          best, best_score = c, sc
          done = true
          break
        end
      end
      start = start + batch - stale
      batch = 16
    end
  end
  if not best then return {} end
  local offers = {offer(best, a)}
  take(best, offers)
  return offers
end

-- Put a caller back in line with their original place.
local function requeue(c)
  c.st = 'waiting'
  redis.call('ZADD', bucket(c), num(score(c)), c.id)
end

-- The caller's single final outcome: connected, abandoned, overflowed or callback.
local function outcome(c, what)
  if c.out then return false end
  c.out = what
  local wait = math.floor((NOW - c.t0) / 1000)
  if what == 'connected' then
    stat(c.q, 'answered')
    stat(c.q, 'wait_total', wait)
    if wait <= c.sl then stat(c.q, 'answered_in_sl') end
  else
    stat(c.q, what)
  end
  return true
end

-- The caller's running figures, for their contact record (ivr/reports/recorder.py) and the
-- hold of each agent's part (agent_done.lua), kept in the caller record:
--   hd   on hold (the wanted state); hs when the current hold began (ms), hms the ms of the
--        holds that have ended (a consult holds the caller too)
--   h0   held_ms when the current agent's part began: their part's hold is the rest
--   ags  the agents who served the caller, in order (at most MAX_AGENTS); c1 the first
--        connection (ms); tr transfers out of an agent's hands; tk seconds of talk of the
--        agents' parts that have ended (their hold excluded)
local MAX_AGENTS = 20
local function held_ms(c)
  local open = c.hs and math.max(0, NOW - c.hs) or 0
  return (c.hms or 0) + open
end
local function hold_on(c)
  c.hd = true
  if not c.hs then c.hs = NOW end
end
local function hold_off(c)
  c.hd = nil
  if c.hs then
    c.hms = (c.hms or 0) + math.max(0, NOW - c.hs)
    c.hs = nil
  end
end
-- An agent's part begins (an acceptance, a consult completed to an agent).
local function served_by(c, id)
  if type(c.ags) ~= 'table' then c.ags = {} end
  if #c.ags < MAX_AGENTS then c.ags[#c.ags + 1] = id end
  if not c.c1 then c.c1 = NOW end
  c.h0 = held_ms(c)
end
-- An agent's part ends while the caller goes on (a transfer): what their part was, for the
-- agent's own call end (agent_done.lua reads a.offer.moved).
local function part_moved(c)
  hold_off(c)
  return {q = c.q, conn = c.conn, hold = math.max(0, held_ms(c) - (c.h0 or 0))}
end

-- Flatten a list of offers for the reply.
local function flat(list)
  local out = {}
  for _, o in ipairs(list) do for _, v in ipairs(o) do out[#out + 1] = v end end
  return out
end

-- The call a consult was for is over (the caller's call ended, or the agent's: with
-- endConferenceOnExit, either ends the conference): the consult ends with it (event
-- consult, result = ended), and the worker ends the target's call, still ringing or not,
-- so it never rings on or joins an empty conference. A consulted agent is freed by that
-- call's own status callback (agent_done.lua: their part, as after a cancel). Returns
-- {target agent id or "", leg sid} (the leg "" while unknown: control.py ends the leg
-- when its xleg is refused), or {} when no consult was going on.
local function consult_over(c)
  local x = c.x
  if type(x) ~= 'table' or x.kind ~= 'consult' then return {} end
  c.x = nil
  local t = x.agent and agent_get(x.agent) or nil
  local leg = x.leg or ''
  if t and t.offer and t.offer.token == x.token and t.leg then leg = t.leg end
  event('consult', {queue = c.q, call = c.id, agent = c.agent or '', to = x.to,
                    result = 'ended'})
  return {x.agent or '', leg}
end
