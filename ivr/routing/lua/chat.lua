-- chat.lua: every decision about text conversations with agents (ivr/routing/chats.py).
--
-- One file for all of them, chosen by ARGS.op, because every decision that frees an
-- agent's capacity or puts a texter back in line ends with the same dispatch (offer waiting
-- conversations to agents with room), and that dispatch must be part of the same atomic
-- script. Runs with the fixed layout (lib.lua's KEYS[1..8]) and these extra keys:
--   KEYS[9]  chats     hash   chat id -> chat JSON (see ChatRecord in ivr/routing/chats.py)
--   KEYS[10] chatload  hash   agent id -> {ids = {["N"] = chat id}, offer = chat id, last = ms}
--   KEYS[11] chatwait  zset   waiting chat ids, score (100 - priority) * 1e13 + time in line
--   KEYS[12] chatof    hash   "texter|service" -> the texter's open chat id
--   KEYS[13] messages  list   the transcript of ARGS.chat (any key when the op has no chat)
-- ARGS: op, chat, agent, queues = {name = {cap, ring, wrap, skills, escalate = {{after, skills,
--   lvl}}, strategy, rest, maxwait}}, and the op's own fields (below).
-- Reply: JSON {ok = true|false, why = "...", chat = record, notices = {...}}; notices tell
-- ivr/flows/chat_relay.py what to text to whom (offer, withdrawn, joined, relay, ended...).

local CHATS, LOAD, LINE, OPEN, MSGS = KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13]
local Q = ARGS.queues or {}
local notices = {}
local function notice(n) notices[#notices + 1] = n end

local function chat_get(id)
  local raw = redis.call('HGET', CHATS, id)
  if not raw then return nil end
  return cjson.decode(raw)
end
local function chat_put(c) redis.call('HSET', CHATS, c.id, cjson.encode(c)) end
local function load_get(id)
  local raw = redis.call('HGET', LOAD, id)
  local l = raw and cjson.decode(raw) or {ids = {}, last = 0}
  if type(l.ids) ~= 'table' then l.ids = {} end
  return l
end
-- cjson writes an empty `ids` as {} and reads it back as an empty table: fine either way
local function load_put(id, l) redis.call('HSET', LOAD, id, cjson.encode(l)) end
local function open_count(l)
  local n = 0
  for _, _ in pairs(l.ids) do n = n + 1 end
  return n
end
local function cscore(c) return (100 - c.p) * 1e13 + c.tq end
local function cfg(c) return Q[c.q] or {cap = 3, ring = 20, wrap = 30, skills = {}, escalate = {},
                                         strategy = 'longest-idle', rest = 30, maxwait = 600} end
local function quiet(c) timer(c.qdue, 'cquiet|' .. c.id) end

-- What the conversation needs of an agent after waiting `waited` seconds: the queue's
-- skills (and the step's extra ones) at level 1, relaxed by the escalation steps it has
-- waited past (as a caller's requirements relax); math.huge: every step passed.
local function needs(c, waited)
  local q = cfg(c)
  local skills, lvl = {}, 1
  for _, v in ipairs(q.skills or {}) do skills[#skills + 1] = v end
  for _, v in ipairs(c.skills or {}) do skills[#skills + 1] = v end
  for _, e in ipairs(q.escalate or {}) do
    if waited >= e.after then
      if e.skills ~= nil and e.skills ~= cjson.null then skills = e.skills end
      lvl = e.lvl or 1
    end
  end
  return skills, lvl
end

local function fits(a, skills, lvl)
  for _, s in ipairs(skills) do
    if ((a.skills or {})[s] or 0) < lvl then return false end
  end
  return true
end

-- Could anyone logged in (available or on break) ever take it, once it has waited long
-- enough for every escalation? If not, it overflows at once, as a call does.
local function anyone_for(c)
  local skills, lvl = needs(c, math.huge)
  local raw = redis.call('HGETALL', AGENTS)
  for i = 1, #raw, 2 do
    local a = cjson.decode(raw[i + 1])
    if a.status ~= 'offline' and not a.gone and fits(a, skills, lvl) then return true end
  end
  return false
end


-- Offer waiting conversations, best first (priority, then time in line), each to the
-- agent with room who has the fewest open conversations (then the longest since their
-- last one); an agent has one offer ringing at a time. Agents on a call still take
-- texts: capacity counts conversations only.
local function dispatch()
  local waiting = redis.call('ZRANGE', LINE, 0, 499)
  if #waiting == 0 then return end
  local raw = redis.call('HGETALL', AGENTS)
  local avail = {}
  for i = 1, #raw, 2 do
    local a = cjson.decode(raw[i + 1])
    if a.status == 'available' and not a.gone then
      a.load = load_get(a.id)
      if not a.load.offer then avail[#avail + 1] = a end
    end
  end
  if #avail == 0 then return end
  for _, id in ipairs(waiting) do
    local c = chat_get(id)
    if not c or c.state ~= 'waiting' then
      redis.call('ZREM', LINE, id)
    else
      local q = cfg(c)
      local skills, lvl = needs(c, (NOW - c.tq) / 1000)
      local best, bi = nil, nil
      for i, a in ipairs(avail) do
        if not a.load.offer and open_count(a.load) < q.cap and fits(a, skills, lvl) and
           not (c.mb == a.id and NOW < (c.mu or 0)) then
          local better = false
          if not best then better = true
          elseif q.strategy == 'random' then
            -- one random number per decision (ARGV): spread it per candidate, keep 1 in i
            better = (RAND * 7919 * i) % 1 < 1 / i
          elseif open_count(a.load) ~= open_count(best.load) then
            better = open_count(a.load) < open_count(best.load)
          elseif q.strategy == 'most-skilled' then
            local sa, sb = 0, 0
            for _, s in ipairs(skills) do sa = sa + (a.skills[s] or 0); sb = sb + (best.skills[s] or 0) end
            better = sa > sb or (sa == sb and (a.load.last or 0) < (best.load.last or 0))
          else
            better = (a.load.last or 0) < (best.load.last or 0)
          end
          if better then best, bi = a, i end
        end
      end
      if best then
        local token = string.format('%d', RAND * 1e9) .. num(NOW)
        c.state = 'offered'
        c.offer = {agent = best.id, token = token, ['until'] = NOW + q.ring * 1000}
        best.load.offer = c.id
        load_put(best.id, best.load)
        chat_put(c)
        redis.call('ZREM', LINE, c.id)
        timer(NOW + q.ring * 1000, 'cring|' .. c.id .. '|' .. token)
        event('chat_offer', {chat = c.id, queue = c.q, agent = best.id})
        notice({kind = 'offer', chat = c.id, agent = best.id})
        table.remove(avail, bi)
        if #avail == 0 then return end
      end
    end
  end
end

-- Take the agent's ringing offer back; the conversation keeps its place in line.
local function unoffer(c, reason)
  local agent = c.offer.agent
  local l = load_get(agent)
  if l.offer == c.id then l.offer = nil; load_put(agent, l) end
  untimer('cring|' .. c.id .. '|' .. c.offer.token)
  c.offer = nil
  if reason == 'declined' or reason == 'expired' then
    c.mb = agent
    c.mu = NOW + cfg(c).rest * 1000
    event('chat_miss', {chat = c.id, queue = c.q, agent = agent, reason = reason})
  end
  return agent
end

-- Free the agent's slot of this conversation.
local function unslot(c)
  if not c.agent then return end
  local l = load_get(c.agent)
  for k, v in pairs(l.ids) do if v == c.id then l.ids[k] = nil end end
  l.last = NOW
  load_put(c.agent, l)
end

-- A line of the transcript that nobody typed (joined, transferred, ended): the desk and
-- the contact record show it; the relay never sends it (it relays texters' and agents').
local function sysmsg(agent, text)
  redis.call('RPUSH', MSGS, cjson.encode({at = NOW, by = 'system', agent = agent or cjson.null,
                                          body = text, media = {}}))
end
local function agent_name(id)
  local a = id and agent_get(id) or nil
  return a and a.name or id or 'the agent'
end

local function close_open(c) redis.call('HDEL', OPEN, c.from .. '|' .. c.to) end

-- The conversation's end, one way (answered, abandoned, overflowed, callback).
local function finish(c, outcome, wrap)
  untimer('cquiet|' .. c.id)
  redis.call('ZREM', LINE, c.id)
  close_open(c)
  c.outcome = c.outcome or outcome
  c.ended = NOW
  local handle = 0
  if c.ps then handle = (NOW - c.ps) / 1000 end
  -- outcome: the conversation's; part: how it ended in the queue it was last in (a
  -- conversation answered in one queue may be transferred and abandoned in the next)
  event('chat_end', {chat = c.id, queue = c.q, agent = c.agent or '', outcome = c.outcome,
                     part = c.ps and 'answered' or outcome,
                     handle = string.format('%d', math.floor(handle + 0.5))})
  if c.agent and wrap then
    c.state = 'wrap'
    c.wu = NOW
    timer(NOW + cfg(c).wrap * 1000, 'cwrap|' .. c.id)
  else
    unslot(c)
    c.state = 'ended'
    timer(NOW + CTX.keep * 1000, 'cforget|' .. c.id)
  end
end

local function reply(ok, why, c, place)
  if c then chat_put(c) end
  return cjson.encode({ok = ok, why = why or '', chat = c or cjson.null, notices = notices,
                       position = place or 0})
end

local function position(c)
  local rank = redis.call('ZRANK', LINE, c.id)
  return rank and rank + 1 or 0
end

local op = ARGS.op
local c = ARGS.chat and chat_get(ARGS.chat) or nil

if op == 'dispatch' then
  dispatch()
  return reply(true)

elseif op == 'enter' then
  -- ARGS.record: the new conversation; ARGS.msg: its first message.
  local r = ARGS.record
  local existing = redis.call('HGET', OPEN, r.from .. '|' .. r.to)
  if existing then
    local old = chat_get(existing)
    if old and old.state ~= 'ended' and old.state ~= 'wrap' then
      return reply(false, 'open', old)
    end
  end
  r.tq = r.t0
  r.state = 'waiting'
  r.agents = {}
  r.transfers = 0
  -- the first message goes in the offer; later ones are relayed after accept (none when
  -- what brought them here was only a menu choice)
  r.relay = 1
  r.qdue = NOW + cfg(r).maxwait * 1000
  if (ARGS.msg.body or '') ~= '' or next(ARGS.msg.media or {}) ~= nil then
    redis.call('RPUSH', MSGS, cjson.encode(ARGS.msg))
    r.relay = 2
  end
  event('chat_enter', {chat = r.id, queue = r.q, number = r.from, channel = r.channel})
  if not anyone_for(r) then
    r.state = 'ended'
    r.outcome = 'overflowed'
    r.ended = NOW
    event('chat_end', {chat = r.id, queue = r.q, agent = '', outcome = 'overflowed',
                       part = 'overflowed', handle = '0'})
    timer(NOW + CTX.keep * 1000, 'cforget|' .. r.id)
    return reply(true, 'overflowed', r)
  end
  redis.call('HSET', OPEN, r.from .. '|' .. r.to, r.id)
  redis.call('ZADD', LINE, num(cscore(r)), r.id)
  quiet(r)
  chat_put(r)
  dispatch()
  c = chat_get(r.id)
  return reply(true, '', c, c.state == 'waiting' and position(c) or 0)
end

if not c then return reply(false, 'unknown') end

if op == 'texter' then
  -- A message from the texter (ARGS.msg): kept, relayed at once when an agent has it.
  if c.state == 'ended' or c.state == 'wrap' then return reply(false, 'ended', c) end
  local n = redis.call('RPUSH', MSGS, cjson.encode(ARGS.msg))
  if c.state == 'active' then
    c.relay = n + 1
    notice({kind = 'to_agent', chat = c.id, agent = c.agent, n = c.n, from = n, to = n})
  else
    c.qdue = NOW + cfg(c).maxwait * 1000  -- still there: the quiet clock starts again
    quiet(c)
  end
  return reply(true, '', c)

elseif op == 'agent' then
  -- A message from the agent (ARGS.msg) to the texter.
  if c.state ~= 'active' or c.agent ~= ARGS.agent then return reply(false, 'not active', c) end
  local n = redis.call('RPUSH', MSGS, cjson.encode(ARGS.msg))
  if not c.fr then
    c.fr = NOW
    event('chat_reply', {chat = c.id, queue = c.q, agent = c.agent,
                         frt = string.format('%d', math.floor((NOW - c.ps) / 1000 + 0.5))})
  end
  notice({kind = 'to_texter', chat = c.id, agent = c.agent, from = n, to = n})
  return reply(true, '', c)

elseif op == 'accept' then
  if c.state ~= 'offered' or c.offer.agent ~= ARGS.agent then return reply(false, 'not offered', c) end
  local agent = c.offer.agent
  untimer('cring|' .. c.id .. '|' .. c.offer.token)
  local l = load_get(agent)
  l.offer = nil
  local n = 1
  while l.ids[tostring(n)] do n = n + 1 end
  l.ids[tostring(n)] = c.id
  l.last = NOW
  load_put(agent, l)
  untimer('cquiet|' .. c.id)
  c.offer = nil
  c.state = 'active'
  c.agent = agent
  c.n = n
  c.ps = NOW   -- this agent's part starts
  c.fr = nil
  c.connected = c.connected or NOW
  c.agents[#c.agents + 1] = agent
  c.outcome = 'answered'
  event('chat_connect', {chat = c.id, queue = c.q, agent = agent,
                         wait = string.format('%d', math.floor((NOW - c.tq) / 1000 + 0.5))})
  local total = redis.call('LLEN', MSGS)
  sysmsg(agent, agent_name(agent) .. ' joined')
  notice({kind = 'joined', chat = c.id, agent = agent, n = n, from = c.relay, to = total})
  c.relay = total + 2  -- past the "joined" line
  chat_put(c)
  dispatch()  -- the agent may have room for the next one: one offer rings at a time
  return reply(true, '', chat_get(c.id))

elseif op == 'decline' or op == 'expire' then
  if c.state ~= 'offered' then return reply(false, 'not offered', c) end
  if op == 'decline' and c.offer.agent ~= ARGS.agent then return reply(false, 'not offered', c) end
  if op == 'expire' and c.offer.token ~= ARGS.token then return reply(false, 'stale', c) end
  local agent = unoffer(c, op == 'decline' and 'declined' or 'expired')
  if op == 'expire' then notice({kind = 'withdrawn', chat = c.id, agent = agent, why = 'expired'}) end
  c.state = 'waiting'
  redis.call('ZADD', LINE, num(cscore(c)), c.id)
  chat_put(c)
  dispatch()
  return reply(true, '', chat_get(c.id))

elseif op == 'done' then
  -- The agent ends the conversation: the texter is thanked, the agent wraps up.
  if c.state ~= 'active' or c.agent ~= ARGS.agent then return reply(false, 'not active', c) end
  finish(c, 'answered', true)
  sysmsg(c.agent, 'Ended by ' .. agent_name(c.agent))
  notice({kind = 'closed', chat = c.id, agent = c.agent, n = c.n, why = 'done'})
  return reply(true, '', c)

elseif op == 'transfer' then
  -- To another queue: the agent's slot is free at once; the texter keeps their priority
  -- and waits from now (a transfer is offered in the new queue).
  if c.state ~= 'active' or c.agent ~= ARGS.agent then return reply(false, 'not active', c) end
  if not Q[ARGS.to] then return reply(false, 'no such queue', c) end
  local from_q, agent, n = c.q, c.agent, c.n
  event('chat_transfer', {chat = c.id, queue = from_q, agent = agent, to = ARGS.to})
  sysmsg(agent, 'Transferred to ' .. ARGS.to .. ' by ' .. agent_name(agent))
  unslot(c)
  c.transfers = c.transfers + 1
  c.q = ARGS.to
  c.tq = NOW
  c.state = 'waiting'
  c.agent = nil
  c.n = nil
  c.ps = nil
  c.mb = agent
  c.mu = NOW + 3600 * 1000  -- not back to the agent who passed it on (unless nobody else)
  c.relay = redis.call('LLEN', MSGS) + 1
  c.qdue = NOW + cfg(c).maxwait * 1000
  quiet(c)
  event('chat_enter', {chat = c.id, queue = c.q, number = c.from, channel = c.channel,
                       transfer = '1'})
  redis.call('ZADD', LINE, num(cscore(c)), c.id)
  notice({kind = 'transferred', chat = c.id, agent = agent, n = n, queue = ARGS.to})
  chat_put(c)
  dispatch()
  return reply(true, '', chat_get(c.id))

elseif op == 'leave' then
  -- The texter left: ARGS.why = "stop" (opt-out), "quiet" (max_wait without a word, from
  -- the timer), "callback" (they asked to be called instead).
  if c.state == 'ended' or c.state == 'wrap' then return reply(false, 'ended', c) end
  if ARGS.why == 'quiet' and (c.state == 'active' or NOW < (c.qdue or 0)) then
    return reply(false, 'not quiet', c)
  end
  local outcome = ARGS.why == 'callback' and 'callback' or 'abandoned'
  if c.state == 'offered' then
    local agent = unoffer(c, 'withdrawn')
    notice({kind = 'withdrawn', chat = c.id, agent = agent, why = ARGS.why})
  end
  if c.state == 'active' then
    notice({kind = 'closed', chat = c.id, agent = c.agent, n = c.n, why = ARGS.why})
    outcome = 'answered'
  end
  c.stopped = ARGS.why == 'stop' or nil
  if ARGS.why == 'stop' then sysmsg(nil, 'The texter opted out')
  elseif ARGS.why == 'callback' then sysmsg(nil, 'The texter asked for a call back instead')
  elseif ARGS.why == 'quiet' then sysmsg(nil, 'The texter went quiet') end
  local was_active = c.state == 'active'
  finish(c, outcome, was_active)
  chat_put(c)
  if not was_active then dispatch() end
  return reply(true, '', chat_get(c.id))

elseif op == 'wrapup' or op == 'wrapend' then
  -- The agent's wrap-up (ARGS.disposition) or its time running out: the slot is free.
  if c.state ~= 'wrap' then return reply(false, 'not wrapping', c) end
  if op == 'wrapup' and c.agent ~= ARGS.agent then return reply(false, 'not yours', c) end
  untimer('cwrap|' .. c.id)
  unslot(c)
  c.state = 'ended'
  c.disposition = ARGS.disposition
  event('chat_wrap', {chat = c.id, queue = c.q, agent = c.agent,
                      wrap = string.format('%d', math.floor((NOW - (c.wu or NOW)) / 1000 + 0.5)),
                      disposition = ARGS.disposition or ''})
  timer(NOW + CTX.keep * 1000, 'cforget|' .. c.id)
  chat_put(c)
  dispatch()
  return reply(true, '', chat_get(c.id))
end

return reply(false, 'unknown op ' .. tostring(op))
