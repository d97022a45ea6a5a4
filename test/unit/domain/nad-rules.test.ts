// validateNAD at the edges the mutation run found unasserted. Oracles: Multus (a NAD without
// spec.config, or with an empty one, takes its CNI config from the node's config directory, so
// there is nothing to check), the CNI spec (a conflist's plugins is a list; its checks are the
// conflist schema's), Kubernetes validation ratcheting as DESIGN adopts it (on update, what the old
// object already had only warns), DESIGN (a config that cannot carry a pool's addresses is refused
// while VMs hold addresses of that network, whether the NAD is changed or created anew, and only
// warned about otherwise), and the Finding contract (value: the offending value, kept short).
import assert from "node:assert/strict";
import { validateNAD } from "../../../capabilities/admission/rules";
import type { ValidationResult } from "../../../capabilities/domain/findings";
import { VLAN100_POOL, nad, pool, snapshot, tenantWorld } from "../admission/fixtures";

const json = (x: unknown): string => JSON.stringify(x);
const HOST_LOCAL = json({ type: "ovs", bridge: "br1", ipam: { type: "host-local" } });
const held = (
  poolName: string,
  address: string,
  claim = "web-1.ovs1",
): { pool: string; address: string; namespace: string; claim: string; vm: string } => ({
  pool: poolName,
  address,
  namespace: "tenant-a",
  claim,
  vm: claim.split(".")[0],
});
const fields = (r: ValidationResult): string[] => [...r.denials, ...r.warnings].map(f => f.field);

describe("validateNAD: what there is to check", () => {
  it("an empty spec.config is the node's config: nothing to check, on a network no pool serves", () => {
    assert.deepEqual(validateNAD(nad("tenant-a", "net", ""), snapshot()), { denials: [], warnings: [] });
  });

  it("a plugins value that is not a list is the conflist schema's one denial", () => {
    const r = validateNAD(nad("tenant-a", "net", json({ cniVersion: "1.0.0", name: "x", plugins: "ovs" })), snapshot());
    assert.deepEqual(
      r.denials.map(d => d.field),
      ["spec.config.plugins"],
    );
  });

  it("config that is not JSON is named by its first 200 characters", () => {
    const long = `{"type": "ovs", "bridge": br1, "x": "${"a".repeat(1000)}"}`;
    const r = validateNAD(nad("tenant-a", "net", long), snapshot());
    assert.equal(r.denials.length, 1);
    assert.equal(r.denials[0].value, long.slice(0, 200));
  });

  it("a not pool-ready config on a network no pool serves, or of a NAD without a name, is no readiness finding", () => {
    assert.deepEqual(validateNAD(nad("tenant-a", "lonely", HOST_LOCAL), snapshot(tenantWorld())), { denials: [], warnings: [] });
    const unnamed = { metadata: { namespace: "tenant-a", generateName: "vlan" }, spec: { config: HOST_LOCAL } };
    const world = snapshot(tenantWorld({ pools: [pool("odd", { cidr: "10.9.0.0/24", networks: ["tenant-a/undefined"] })] }));
    assert.deepEqual(validateNAD(unnamed, world), { denials: [], warnings: [] });
  });
});

describe("validateNAD: a config that cannot carry the pools' addresses", () => {
  it("created while VMs hold addresses of the network: refused, naming each pool in use", () => {
    const world = snapshot(
      tenantWorld({
        allocations: [
          held("tenant-a-vlan100", "10.100.0.23"),
          held("tenant-a-vlan100-v6", "fd00:100::23"),
          held("tenant-a-vlan100-v6", "fd00:100::24", "web-2.ovs1"),
        ],
      }),
    );
    const r = validateNAD(nad("tenant-a", "vlan100", HOST_LOCAL), world);
    assert.equal(r.denials.length, 1, JSON.stringify(r));
    assert.match(
      r.denials[0].message,
      /^network tenant-a\/vlan100 is served by IPPools "tenant-a-vlan100" and "tenant-a-vlan100-v6", whose VMs hold addresses \(1 in "tenant-a-vlan100", 2 in "tenant-a-vlan100-v6"\)/,
    );
  });

  it("served by one pool: the pool is named in the singular", () => {
    const r = validateNAD(nad("tenant-a", "vlan100", HOST_LOCAL), snapshot({ pools: [VLAN100_POOL], nads: [], namespaces: {} }));
    assert.deepEqual(fields(r), ["spec.config"]);
    assert.match(r.warnings[0].message, /^network tenant-a\/vlan100 is served by IPPool "tenant-a-vlan100", but VMs on it/);
  });

  it("on update, a problem the old NAD already had only warns (validation ratcheting)", () => {
    const bad = json({ type: "ovs", bridge: "br1", vlan: 5000 });
    const r = validateNAD(nad("tenant-a", "net", bad), snapshot(), nad("tenant-a", "net", bad));
    assert.deepEqual(r.denials, []);
    assert.deepEqual(
      r.warnings.map(w => w.field),
      ["spec.config.vlan"],
    );
    assert.deepEqual(
      validateNAD(nad("tenant-a", "net", bad), snapshot(), nad("tenant-a", "net")).denials.map(d => d.field),
      ["spec.config.vlan"],
      "new on this update: refused",
    );
  });
});
