// The table of watched kinds: which work each kind's events cause (typed keys).
import assert from "node:assert/strict";
import { ClusterView } from "../../../capabilities/controllers/cluster-view";
import { keyId } from "../../../capabilities/controllers/reconcile";
import { Phase, RouteContext, watched, WATCHED, WatchedKind } from "../../../capabilities/controllers/watched";
import { HasMeta } from "../../../capabilities/k8s/cache";

function context(): RouteContext & { view: ClusterView } {
  const view = new ClusterView();
  const seen = new Map<string, number>();
  return {
    view,
    poolSpecChanged: (name, generation): boolean => {
      const changed = seen.get(name) !== generation;
      seen.set(name, generation);
      return changed;
    },
  };
}

const route = (ctx: RouteContext, kind: WatchedKind, phase: Phase, obj: object): string[] =>
  watched(kind)
    .route(phase, obj as HasMeta, ctx)
    .map(keyId);

describe("watched kinds (one table)", () => {
  it("has one entry per kind, each with its own cache", () => {
    const ctx = context();
    assert.equal(new Set(WATCHED.map(w => w.kind)).size, WATCHED.length);
    assert.equal(new Set(WATCHED.map(w => w.cache(ctx.view.caches))).size, WATCHED.length);
  });

  it("routes a VM, a migration and a managed Service to their own keys", () => {
    const ctx = context();
    assert.deepEqual(route(ctx, "VirtualMachine", "MODIFIED", { metadata: { namespace: "t", name: "web" } }), ["vm/t/web"]);
    assert.deepEqual(route(ctx, "VirtualMachineInstanceMigration", "MODIFIED", { metadata: { namespace: "t", name: "m" } }), [
      "migration/t/m",
    ]);
    assert.deepEqual(route(ctx, "Service", "DELETED", { metadata: { namespace: "t", name: "web" } }), ["vm/t/web"]);
  });

  it("routes a claim to its VM, and a deleted claim also to its own key (its addresses are freed at once)", () => {
    const ctx = context();
    const claim = { metadata: { namespace: "t", name: "web.ovs1" }, spec: { vm: "web" } };
    assert.deepEqual(route(ctx, "IPClaim", "MODIFIED", claim), ["vm/t/web"]);
    assert.deepEqual(route(ctx, "IPClaim", "DELETED", claim), ["claim/t/web.ovs1", "vm/t/web"]);
  });

  it("re-examines every VM for a pool's spec change, not for its own status write", () => {
    const ctx = context();
    ctx.view.caches.vms.upsert({ metadata: { namespace: "t", name: "a", uid: "1", resourceVersion: "1" } });
    ctx.view.caches.vms.upsert({ metadata: { namespace: "u", name: "b", uid: "2", resourceVersion: "1" } });
    const pool = (generation: number): object => ({ metadata: { name: "pa", generation } });
    assert.deepEqual(route(ctx, "IPPool", "MODIFIED", pool(1)), ["pool/pa", "vm/t/a", "vm/u/b"]);
    assert.deepEqual(route(ctx, "IPPool", "MODIFIED", pool(1)), ["pool/pa"], "same generation: our status write");
    assert.deepEqual(route(ctx, "IPPool", "DELETED", pool(1)), ["pool/pa", "vm/t/a", "vm/u/b"]);
  });

  it("routes an allocation to its pool, and a freed one also to the VMs still waiting for an address", () => {
    const ctx = context();
    ctx.view.caches.claims.upsert({
      metadata: { namespace: "t", name: "w.ovs1", uid: "1", resourceVersion: "1" },
      spec: { vm: "w" },
    } as never);
    const alloc = {
      metadata: { name: "pa.10-0-0-2" },
      spec: { pool: "pa", address: "10.0.0.2", claimRef: { namespace: "t", name: "x.ovs1" } },
    };
    assert.deepEqual(route(ctx, "IPAllocation", "MODIFIED", alloc), ["pool/pa"]);
    assert.deepEqual(route(ctx, "IPAllocation", "DELETED", alloc), ["pool/pa", "vm/t/w"]);
    assert.equal(watched("IPAllocation").routeUnchanged, true, "the binder may have cached it first");
  });

  it("keeps the claims waiting for an address and the bound count as each claim's Bound condition changes, with no scan", () => {
    const ctx = context();
    const claim = (vm: string, rv: number, bound?: "True" | "False"): never =>
      ({
        metadata: { namespace: "t", name: `${vm}.ovs1`, uid: vm, resourceVersion: String(rv) },
        spec: { vm },
        ...(bound ? { status: { conditions: [{ type: "Bound", status: bound }] } } : {}),
      }) as never;
    const claims = ctx.view.caches.claims;
    claims.upsert(claim("a", 1));
    claims.upsert(claim("b", 1, "False"));
    claims.upsert(claim("c", 1, "True"));
    assert.deepEqual(ctx.view.claimCounts(), { bound: 1, unbound: 2 });
    const freed = {
      metadata: { name: "pa.10-0-0-9" },
      spec: { pool: "pa", address: "10.0.0.9", claimRef: { namespace: "t", name: "z.ovs1" } },
    };
    assert.deepEqual(route(ctx, "IPAllocation", "DELETED", freed).sort(), ["pool/pa", "vm/t/a", "vm/t/b"]);
    claims.upsert(claim("a", 2, "True")); // a bind's status write
    claims.upsert(claim("c", 2, "False")); // lost its address
    claims.remove(claim("b", 2, "False"));
    assert.deepEqual(ctx.view.claimCounts(), { bound: 1, unbound: 1 });
    assert.deepEqual(route(ctx, "IPAllocation", "DELETED", freed).sort(), ["pool/pa", "vm/t/c"]);
  });

  it("routes a NAD to the pools serving its network, and a namespace to its VMs", () => {
    const ctx = context();
    ctx.view.caches.pools.upsert({
      metadata: { name: "pa", uid: "1", resourceVersion: "1" },
      spec: { cidr: "10.0.0.0/24", networks: ["t/vlan100"] },
    } as never);
    ctx.view.caches.vms.upsert({ metadata: { namespace: "t", name: "a", uid: "1", resourceVersion: "1" } });
    assert.deepEqual(route(ctx, "NetworkAttachmentDefinition", "MODIFIED", { metadata: { namespace: "t", name: "vlan100" } }), ["pool/pa"]);
    assert.deepEqual(route(ctx, "NetworkAttachmentDefinition", "MODIFIED", { metadata: { namespace: "t", name: "other" } }), []);
    assert.deepEqual(route(ctx, "Namespace", "MODIFIED", { metadata: { name: "t" } }), ["vm/t/a"]);
  });

  it("resyncs the kinds with a reconcile of their own: pools, VMs, migrations", () => {
    assert.deepEqual(
      WATCHED.filter(w => w.own).map(w => w.kind),
      ["IPPool", "VirtualMachine", "VirtualMachineInstanceMigration"],
    );
  });
});
