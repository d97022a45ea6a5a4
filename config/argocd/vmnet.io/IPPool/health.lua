-- Argo CD health of a vmnet.io/v1alpha1 IPPool (argocd-cm: resource.customizations.health.vmnet.io_IPPool).
--   Progressing  no status yet, or vmnet-operator has not observed the pool's latest generation
--   Healthy      condition Ready=True (the message counts allocated addresses; an exhausted pool
--                stays Healthy but says so: it is serving, it just has nothing left to hand out)
--   Degraded     condition Ready=False, with the operator's message (for example a NAD that
--                cannot take a fixed address)
-- Written for Lua 5.1 (Argo CD's gopher-lua) and checked with lua5.4 by test/unit/argocd-health.test.ts.
local hs = {}

local function condition(status, ctype)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

local function behind(observed, generation)
  return generation ~= nil and (observed == nil or observed < generation)
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for vmnet-operator to report the pool's status"
  return hs
end

if behind(obj.status.observedGeneration, generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for vmnet-operator to observe generation " .. tostring(generation)
  return hs
end

local ready = condition(obj.status, "Ready")
if ready == nil or (ready.observedGeneration ~= nil and behind(ready.observedGeneration, generation)) then
  hs.status = "Progressing"
  hs.message = "Waiting for the pool's Ready condition"
  return hs
end

if ready.status == "False" then
  hs.status = "Degraded"
  if ready.message ~= nil and ready.message ~= "" then
    hs.message = ready.message
  else
    hs.message = "Not ready: " .. tostring(ready.reason)
  end
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  local counts = ""
  if obj.status.allocated ~= nil and obj.status.capacity ~= nil then
    counts = tostring(obj.status.allocated) .. " of " .. tostring(obj.status.capacity) .. " addresses allocated"
  end
  local exhausted = condition(obj.status, "Exhausted")
  if exhausted ~= nil and exhausted.status == "True" then
    hs.message = "Exhausted: " .. (exhausted.message or counts)
  elseif counts ~= "" then
    hs.message = counts
  else
    hs.message = ready.message
  end
  return hs
end

hs.status = "Progressing"
hs.message = ready.message or "Ready is Unknown"
return hs
