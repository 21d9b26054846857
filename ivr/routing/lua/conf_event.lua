-- conf_event.lua: a status callback of a caller's conference (named after the caller's
-- CallSid). Idempotent and order-proof: each event sets a value, never counts; a
-- duplicate or a late one sets the same value again or is ignored.
--   participant-join of the caller: remember the ConferenceSid (the controls address
--     participants through it), unless a transfer took them out of it meanwhile (`j`
--     cleared: control.lua); if the agent already hung up (the caller is "done"),
--     the worker ends the conference, so the caller's <Dial> ends and the flow goes on.
--   participant-hold / participant-unhold of the caller: what Twilio confirms is stored
--     as `hdc` (the control itself set `hd`, the wanted state, in control.lua).
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {call = conference name, event, sid = participant CallSid, conf, seq}
-- Returns {"ok"} | {"end", ConferenceSid} | {"none"}.
local c = caller_get(ARGS.call)
if not c or c.kind == 'callback' then return {'none'} end
local changed = false
if ARGS.sid == c.id then
  -- (only while the caller is joined to their current connection, `j`: a late join of
  -- a conference the caller was transferred out of must not mark them in the next one)
  if ARGS.event == 'participant-join' and ARGS.conf ~= '' and c.cf ~= ARGS.conf and c.j then
    c.cf = ARGS.conf
    changed = true
  elseif ARGS.event == 'participant-hold' or ARGS.event == 'participant-unhold' then
    local held = ARGS.event == 'participant-hold'
    -- order-proof: a callback older than the last one applied is ignored
    if (c.hseq or 0) < ARGS.seq then
      c.hseq = ARGS.seq
      c.hdc = held
      changed = true
    end
  end
end
if changed then caller_put(c) end
if ARGS.event == 'participant-join' and ARGS.sid == c.id and c.st == 'done' then
  return {'end', ARGS.conf}
end
return {'ok'}
