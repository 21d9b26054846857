-- set_leg.lua: remember the CallSid of the call placed to an agent for one offer, so a
-- hang-up of the caller can cancel it. Ignored when the offer is already over.
-- KEYS: the common layout of lib.lua.
-- ARGV[3] JSON: {agent, token, leg}
-- Returns 1 when stored, 0 when the offer is over.
local a = agent_get(ARGS.agent)
if not a or not a.offer or a.offer.token ~= ARGS.token then return 0 end
a.leg = ARGS.leg
agent_put(a)
return 1
