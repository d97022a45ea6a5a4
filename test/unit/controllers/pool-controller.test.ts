// The pool controller on the in-memory client: status counted from the IPAllocation records,
// Ready from the spec and the networks' NADs, Exhausted when full; no write when nothing changed.
import assert from "node:assert/strict";
import type { IPPool } from "../../../capabilities/api/ippool-v1alpha1";
import { renderAllocation } from "../../../capabilities/controllers/render";
import { poolKey } from "../../../capabilities/controllers/reconcile";
import { Kinds } from "../../../capabilities/k8s/kinds";
import { OVS_CONFIG, World } from "../support/world";

interface Status {
  capacity: number;
  allocated: number;
  available: number;
  conditions: { type: string; status: string; reason: string; message: string }[];
}

const statusOf = (w: World, pool: string): Status => w.client.peek<IPPool>(Kinds.IPPool, pool)?.status as unknown as Status;
const condition = (s: Status, type: string): Status["conditions"][number] | undefined => s.conditions.find(c => c.type === type);

function allocate(w: World, pool: string, ...addresses: string[]): void {
  addresses.forEach((a, i) => w.client.seed(Kinds.IPAllocation, renderAllocation(pool, a, { namespace: "t", name: `vm${i}.ovs1` })));
}

/** Lists everything into the caches and reconciles the pool: the status it wrote. */
async function reconciled(w: World, pool: string): Promise<Status> {
  await w.sync();
  await w.pools.reconcile(poolKey(pool));
  return statusOf(w, pool);
}

describe("PoolController (in-memory client)", () => {
  it("counts capacity, allocated and available from the records, and is Ready with a ready NAD", async () => {
    const w = new World();
    // 10.1.0.8/29: .9-.14 usable, the gateway .9 excluded: 5 addresses.
    w.network("t", "vlan100", "pa", "10.1.0.8/29", { gateway: "10.1.0.9" });
    allocate(w, "pa", "10.1.0.10", "10.1.0.11");
    const s = await reconciled(w, "pa");
    assert.deepEqual([s.capacity, s.allocated, s.available], [5, 2, 3]);
    assert.equal(condition(s, "Ready")?.status, "True");
    assert.equal(condition(s, "Exhausted")?.status, "False");
    assert.match(String(condition(s, "Exhausted")?.message), /^3 addresses free/);
  });

  it("says Exhausted when every address is allocated", async () => {
    const w = new World();
    w.network("t", "vlan100", "pa", "10.1.0.0/24", { ranges: ["10.1.0.10-10.1.0.11"] } as never);
    allocate(w, "pa", "10.1.0.10", "10.1.0.11");
    const s = await reconciled(w, "pa");
    assert.deepEqual([s.capacity, s.allocated, s.available], [2, 2, 0]);
    assert.equal(condition(s, "Exhausted")?.status, "True");
    assert.equal(condition(s, "Exhausted")?.reason, "NoFreeAddress");
  });

  it("is not Ready when a network's NAD is missing or cannot carry fixed addresses, naming it", async () => {
    const w = new World();
    w.network("t", "vlan100", "pa", "10.1.0.0/24");
    await w.client.delete(Kinds.NetworkAttachmentDefinition, "vlan100", "t");
    let ready = condition(await reconciled(w, "pa"), "Ready");
    assert.equal(ready?.status, "False");
    assert.equal(ready?.reason, "NetworkNotReady");
    assert.match(String(ready?.message), /NetworkAttachmentDefinition t\/vlan100 does not exist/);

    w.client.seed(Kinds.NetworkAttachmentDefinition, {
      metadata: { name: "vlan100", namespace: "t" },
      spec: { config: OVS_CONFIG("vlan100").replace('"ips":true', '"ips":false') },
    });
    ready = condition(await reconciled(w, "pa"), "Ready");
    assert.equal(ready?.status, "False");
    assert.match(String(ready?.message), /^NetworkAttachmentDefinition t\/vlan100: /);
  });

  it("says InvalidSpec for a spec it cannot lay out", async () => {
    const w = new World();
    w.network("t", "vlan100", "pa", "10.1.0.0/24", { gateway: "10.9.0.1" });
    const ready = condition(await reconciled(w, "pa"), "Ready");
    assert.equal(ready?.status, "False");
    assert.equal(ready?.reason, "InvalidSpec");
  });

  it("writes nothing when the status it would write is the one shown", async () => {
    const w = new World();
    w.network("t", "vlan100", "pa", "10.1.0.0/24");
    await w.sync();
    await w.pools.reconcile(poolKey("pa"));
    assert.equal(w.client.writes("patch", "IPPool").length, 1);
    await w.sync();
    await w.pools.reconcile(poolKey("pa"));
    assert.equal(w.client.writes("patch", "IPPool").length, 0, "no second write");
  });
});
