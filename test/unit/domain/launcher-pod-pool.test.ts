// The default route of a claim that names its pool the older way: IPClaim spec.pool (one pool)
// without spec.pools. Oracle: the IPClaim API (crds/ipclaims: spec.pools, else spec.pool, is the
// claim's pools; neither is required), and DESIGN (the launcher pod's element gets "default-route"
// with the gateway of each of the claim's pools that has spec.defaultRoute).
import assert from "node:assert/strict";
import { renderLauncherNetworks } from "../../../capabilities/admission/rules";
import type { ClaimLike } from "../../../capabilities/admission/rules";

const claim = (spec: Record<string, unknown>): ClaimLike => ({
  metadata: { name: "web-1.ovs1", namespace: "tenant-a" },
  spec: { vm: "web-1", interface: "ovs1", network: "tenant-a/vlan100", ...spec },
  status: { addresses: ["10.100.0.23/24"], mac: "02:00:0a:64:00:17", conditions: [{ type: "Bound", status: "True" }] },
});
const routeOf = (c: ClaimLike): unknown =>
  (
    JSON.parse(renderLauncherNetworks('[{"name":"vlan100"}]', "tenant-a", [c], new Set(), new Map([["v4", "10.100.0.1"]])).value) as Record<
      string,
      unknown
    >[]
  )[0]["default-route"];

describe("renderLauncherNetworks: the pools of a claim, for its default route", () => {
  it("spec.pool alone is the claim's pool; empty spec.pools falls back to it; no pool, no route", () => {
    assert.deepEqual(routeOf(claim({ pool: "v4" })), ["10.100.0.1"]);
    assert.deepEqual(routeOf(claim({ pool: "v4", pools: [] })), ["10.100.0.1"]);
    assert.deepEqual(routeOf(claim({ pool: "other", pools: ["v4"] })), ["10.100.0.1"], "spec.pools wins");
    assert.equal(routeOf(claim({})), undefined);
  });
});
