// A NIC that holds addresses keeps their pools (DESIGN: an address never moves under a running
// VM), through nicPools only. Oracles: the NicPools contract (pool-choice.ts): `kept` is per family
// the held pool, else the wanted one, IPv4 first like `pools`; a "held" problem exactly when a held
// family's wanted pool is another pool, and never otherwise.
import assert from "node:assert/strict";
import { nicPools } from "../../../capabilities/domain/pool-choice";
import { VLAN100_POOL, VLAN100_POOL6, pool, snapshot, tenantWorld } from "../admission/fixtures";

const V4 = VLAN100_POOL.metadata!.name!;
const V6 = VLAN100_POOL6.metadata!.name!;
const req = { network: "tenant-a/vlan100", namespace: "tenant-a" };
const names = (pools: { metadata?: { name?: string } }[] | undefined): (string | undefined)[] | undefined =>
  pools?.map(p => p.metadata?.name);

describe("nicPools: a NIC holding addresses keeps their pools", () => {
  it("a second IPv6 pool without a default: the NIC keeps both held pools, and that is no held conflict", () => {
    const world = snapshot(
      tenantWorld({ pools: [pool("tenant-a-vlan100-v6b", { cidr: "fd00:101::/64", networks: ["tenant-a/vlan100"] })] }),
    );
    const r = nicPools({ ...req, held: [V4, V6] }, world);
    assert.deepEqual(names(r.kept), [V4, V6]);
    assert.deepEqual(
      r.problems.filter(p => p.kind === "held"),
      [],
      JSON.stringify(r.problems),
    );
  });

  it("held IPv6 against another wanted IPv6 default: kept is IPv4 first, with the held problem", () => {
    const world = snapshot(
      tenantWorld({ pools: [pool("tenant-a-vlan100-v6new", { cidr: "fd00:102::/64", networks: ["tenant-a/vlan100"], default: true })] }),
    );
    const r = nicPools({ ...req, held: [V6] }, world);
    assert.deepEqual(names(r.kept), [V4, V6]);
    assert.deepEqual(r.pools, []);
    assert.deepEqual(
      r.problems.map(p => p.kind),
      ["held"],
    );
    assert.match(
      r.problems[0].message,
      /^holds its addresses in IPPool "tenant-a-vlan100", "tenant-a-vlan100-v6", not in "tenant-a-vlan100", "tenant-a-vlan100-v6new"/,
    );
  });

  it("a NIC holding only its IPv4 pool gets the new IPv6 default beside it, without a problem", () => {
    const r = nicPools({ ...req, held: [V4] }, snapshot(tenantWorld()));
    assert.equal(r.kept, undefined, "the held pool is the wanted one: nothing is kept apart");
    assert.deepEqual(names(r.pools), [V4, V6]);
    assert.deepEqual(r.problems, []);
  });
});
