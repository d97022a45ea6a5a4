// Proves the tests run against a real API server: CEL rules, server-side apply field ownership
// and watches behave as Kubernetes does, not as a fake would.
import assert from "node:assert/strict";
import { K8s } from "kubernetes-fluent-client";
import { IPPool } from "../../capabilities/api/ippool-v1alpha1";
import { ApiError } from "../../capabilities/k8s/errors";
import { Kinds } from "../../capabilities/k8s/kinds";
import { cluster } from "../setup/cluster";

const pool = (name: string, spec: Record<string, unknown>): { metadata: { name: string }; spec: Record<string, unknown> } => ({
  metadata: { name },
  spec,
});

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    return err;
  }
  assert.fail("the API server accepted an object it should refuse");
}

describe("real API server", () => {
  describe("IPPool CEL rules", () => {
    it("refuses a CIDR that is not canonical", async () => {
      const err = await rejection(cluster().client.create(Kinds.IPPool, pool("bad-cidr", { cidr: "10.100.0.7/24" })));
      assert.equal(err.status, 422);
      assert.match(err.message, /spec.cidr must be canonical/);
    });

    it("refuses a gateway outside the CIDR and a malformed range", async () => {
      const err = await rejection(
        cluster().client.create(
          Kinds.IPPool,
          pool("bad-gw", { cidr: "10.100.0.0/24", gateway: "10.101.0.1", ranges: ["10.100.0.10-banana"] }),
        ),
      );
      assert.match(err.message, /spec.gateway must lie inside spec.cidr/);
      assert.match(err.message, /each range must be an IP address or two IP addresses/);
    });

    it("accepts an IPv6 /64 and keeps the CIDR immutable", async () => {
      const { client } = cluster();
      await client.create(Kinds.IPPool, pool("v6-pool", { cidr: "fd00:100::/64", gateway: "fd00:100::1" }));
      const err = await rejection(client.mergePatch(Kinds.IPPool, "v6-pool", undefined, { spec: { cidr: "fd00:200::/64" } }));
      assert.match(err.message, /spec.cidr is immutable/);
      const stored = await client.get<IPPool>(Kinds.IPPool, "v6-pool");
      assert.equal(stored.spec?.reclaimPolicy, "Delete", "the schema default is applied by the server");
      await client.delete(Kinds.IPPool, "v6-pool");
    });
  });

  it("reports a server-side apply conflict between two field managers", async () => {
    const { client } = cluster();
    const path = `/apis/vmnet.io/v1alpha1/ippools/ssa-pool`;
    const applyAs = (manager: string, gateway: string, force = false): Promise<unknown> =>
      client.request({
        method: "PATCH",
        path,
        query: { fieldManager: manager, force: String(force) },
        contentType: "application/apply-patch+yaml",
        body: { apiVersion: "vmnet.io/v1alpha1", kind: "IPPool", metadata: { name: "ssa-pool" }, spec: { cidr: "10.9.0.0/24", gateway } },
        what: `apply IPPool ssa-pool as ${manager}`,
      });
    await applyAs("argocd-controller", "10.9.0.1");
    const err = await rejection(applyAs("someone-else", "10.9.0.254"));
    assert.equal(err.status, 409);
    assert.match(err.message, /conflict.*argocd-controller/is);
    await applyAs("someone-else", "10.9.0.254", true);
    const stored = await client.get<IPPool>(Kinds.IPPool, "ssa-pool");
    assert.equal(stored.spec?.gateway, "10.9.0.254");
    await client.delete(Kinds.IPPool, "ssa-pool");
  });

  it("delivers ADDED, MODIFIED and DELETED through a kubernetes-fluent-client watch", async () => {
    const { client } = cluster();
    const seen: string[] = [];
    const watcher = K8s(IPPool, { name: "watched-pool" }).Watch((_obj, phase) => void seen.push(phase));
    await watcher.start();
    try {
      await client.create(Kinds.IPPool, pool("watched-pool", { cidr: "10.8.0.0/24" }));
      await client.mergePatch(Kinds.IPPool, "watched-pool", undefined, { spec: { gateway: "10.8.0.1" } });
      await client.delete(Kinds.IPPool, "watched-pool");
      const deadline = Date.now() + 20_000;
      while (!seen.includes("DELETED") && Date.now() < deadline) await new Promise(r => setTimeout(r, 100));
      // The operator may write the pool's status meanwhile: more MODIFIED events, same order.
      const phases = seen.filter((p, i) => p !== seen[i - 1]);
      assert.deepEqual(phases, ["ADDED", "MODIFIED", "DELETED"]);
    } finally {
      watcher.close();
    }
  });
});
