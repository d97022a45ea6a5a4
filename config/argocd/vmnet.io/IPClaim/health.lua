-- Argo CD health of a vmnet.io/v1alpha1 IPClaim (argocd-cm: resource.customizations.health.vmnet.io_IPClaim).
-- vmnet-operator writes one claim per VM bridge NIC; its Bound condition says whether the NIC has
-- its addresses.
--   Healthy      Bound=True (the message lists the addresses and MAC)
--   Degraded     Bound=False for a reason a person has to act on: Conflict (the requested address
--                is held by another NIC), Exhausted (no free address), InvalidRequest (the request
--                cannot be served), NetworkNotReady (no usable pool or NAD), InvalidInterface
--                (KubeVirt refuses the NIC: the VM was admitted while the webhook was down)
--   Suspended    released by a Retain pool: the VM is gone and the addresses wait for a VM
--                re-created under the same name, or for the claim's deletion
--   Progressing  anything else (no status yet, an operator that has not caught up)
-- Written for Lua 5.1 (Argo CD's gopher-lua) and checked with lua5.4 by test/unit/argocd-health.test.ts.
local hs = {}

local DEGRADED = { Conflict = true, Exhausted = true, InvalidRequest = true, NetworkNotReady = true, InvalidInterface = true }

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

local bound = condition(obj.status, "Bound")
if bound == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for vmnet-operator to bind an address"
  return hs
end

if bound.status == "True" then
  hs.status = "Healthy"
  local parts = {}
  if obj.status.addresses ~= nil then
    for _, a in ipairs(obj.status.addresses) do
      table.insert(parts, a)
    end
  end
  if obj.status.mac ~= nil then
    table.insert(parts, "MAC " .. obj.status.mac)
  end
  if #parts > 0 then
    hs.message = "Bound: " .. table.concat(parts, ", ")
  else
    hs.message = bound.message
  end
  return hs
end

if obj.status.released == true or bound.reason == "Released" then
  hs.status = "Suspended"
  hs.message = bound.message or "Released: addresses retained by the pool's Retain policy"
  return hs
end

if bound.status == "False" and DEGRADED[bound.reason] then
  hs.status = "Degraded"
  if bound.message ~= nil and bound.message ~= "" then
    hs.message = bound.reason .. ": " .. bound.message
  else
    hs.message = bound.reason
  end
  return hs
end

hs.status = "Progressing"
hs.message = bound.message or ("Bound is " .. tostring(bound.status))
return hs
