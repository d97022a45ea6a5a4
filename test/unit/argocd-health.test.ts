// The Argo CD health checks in config/argocd, run by a real Lua interpreter (lua5.4) the way Argo
// CD runs them: the object as the global `obj`, the returned table's status and message.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import { HEALTH_CHECKS, runHealthCheck } from "../../hack/render-config";

const ROOT = path.join(__dirname, "..", "..");

const luaAvailable = ((): boolean => {
  try {
    execFileSync("lua5.4", ["-v"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

const NOW = "2026-01-01T00:00:00Z";
const cond = (type: string, status: string, reason: string, message: string, observedGeneration?: number): Record<string, unknown> => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: NOW,
  ...(observedGeneration === undefined ? {} : { observedGeneration }),
});

const pool = (status?: Record<string, unknown>, generation = 3): Record<string, unknown> => ({
  apiVersion: "vmnet.io/v1alpha1",
  kind: "IPPool",
  metadata: { name: "tenant-a-vlan100", generation },
  spec: { cidr: "10.100.0.0/24", networks: ["tenant-a/vlan100"] },
  ...(status ? { status } : {}),
});

const claim = (status?: Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: "vmnet.io/v1alpha1",
  kind: "IPClaim",
  metadata: { name: "web-1.ovs1", namespace: "tenant-a", generation: 1 },
  spec: { vm: "web-1", interface: "ovs1", network: "tenant-a/vlan100", pool: "tenant-a-vlan100" },
  ...(status ? { status } : {}),
});

describe("Argo CD health checks (Lua)", function () {
  before(function () {
    if (luaAvailable) return;
    if (isRoot) assert.fail("lua5.4 is not installed: run `apt-get install lua5.4` (.ci/run installs it)");
    console.warn(
      "\n[argocd-health] SKIPPED: lua5.4 is not installed and this user cannot install it; the Argo CD health checks are NOT tested\n",
    );
    this.skip();
  });

  describe("IPPool", () => {
    const health = (obj: unknown): { status?: string; message?: string } => runHealthCheck("IPPool", obj);

    it("is Progressing without a status", () => {
      const hs = health(pool());
      assert.equal(hs.status, "Progressing");
      assert.match(hs.message ?? "", /Waiting for vmnet-operator/);
    });

    it("is Progressing while the operator has not observed the latest generation", () => {
      const hs = health(
        pool({ observedGeneration: 2, capacity: 190, allocated: 1, conditions: [cond("Ready", "True", "Ready", "ok", 2)] }),
      );
      assert.deepEqual(hs, { status: "Progressing", message: "Waiting for vmnet-operator to observe generation 3" });
    });

    it("is Progressing while its Ready condition is from an older generation, absent or Unknown", () => {
      assert.equal(health(pool({ observedGeneration: 3, conditions: [cond("Ready", "True", "Ready", "ok", 2)] })).status, "Progressing");
      assert.equal(health(pool({ observedGeneration: 3 })).status, "Progressing");
      assert.equal(
        health(pool({ observedGeneration: 3, conditions: [cond("Ready", "Unknown", "Pending", "checking the NAD", 3)] })).status,
        "Progressing",
      );
    });

    it("is Healthy when Ready, counting its addresses", () => {
      const hs = health(
        pool({
          observedGeneration: 3,
          capacity: 190,
          allocated: 12,
          available: 178,
          conditions: [cond("Ready", "True", "Ready", "ok", 3), cond("Exhausted", "False", "FreeAddresses", "178 addresses free", 3)],
        }),
      );
      assert.deepEqual(hs, { status: "Healthy", message: "12 of 190 addresses allocated" });
    });

    it("stays Healthy but says so when exhausted", () => {
      const hs = health(
        pool({
          observedGeneration: 3,
          capacity: 2,
          allocated: 2,
          conditions: [
            cond("Ready", "True", "Ready", "ok", 3),
            cond("Exhausted", "True", "NoFreeAddress", "all 2 addresses are allocated", 3),
          ],
        }),
      );
      assert.deepEqual(hs, { status: "Healthy", message: "Exhausted: all 2 addresses are allocated" });
    });

    it("is Degraded when not Ready, with the operator's message", () => {
      const message =
        'the IPAM of CNI plugin "ovs" is "host-local"; set "ipam": {"type": "static"} so the plugin applies the pool\'s address';
      const hs = health(pool({ observedGeneration: 3, conditions: [cond("Ready", "False", "NetworkNotReady", message, 3)] }));
      assert.deepEqual(hs, { status: "Degraded", message });
    });

    it("names the reason when a Ready=False condition has no message", () => {
      const hs = health(pool({ observedGeneration: 3, conditions: [{ type: "Ready", status: "False", reason: "InvalidSpec" }] }));
      assert.deepEqual(hs, { status: "Degraded", message: "Not ready: InvalidSpec" });
    });

    it("copes with an object without metadata.generation", () => {
      const obj = {
        kind: "IPPool",
        metadata: { name: "p" },
        status: { conditions: [cond("Ready", "True", "Ready", "the pool and its networks can serve addresses")] },
      };
      assert.deepEqual(health(obj), { status: "Healthy", message: "the pool and its networks can serve addresses" });
    });
  });

  describe("IPClaim", () => {
    const health = (obj: unknown): { status?: string; message?: string } => runHealthCheck("IPClaim", obj);

    it("is Progressing until the operator binds it", () => {
      assert.deepEqual(health(claim()), { status: "Progressing", message: "Waiting for vmnet-operator to bind an address" });
      assert.equal(health(claim({ conditions: [] })).status, "Progressing");
    });

    it("is Healthy when Bound, listing addresses and MAC", () => {
      const hs = health(
        claim({
          addresses: ["10.100.0.23/24", "fd00:100::23/64"],
          mac: "02:00:0a:64:00:17",
          gateway: "10.100.0.1",
          conditions: [cond("Bound", "True", "Allocated", "bound", 1)],
        }),
      );
      assert.deepEqual(hs, { status: "Healthy", message: "Bound: 10.100.0.23/24, fd00:100::23/64, MAC 02:00:0a:64:00:17" });
    });

    for (const reason of ["Conflict", "Exhausted", "InvalidRequest", "NetworkNotReady", "InvalidInterface"]) {
      it(`is Degraded when not Bound for ${reason}, with the reason and message`, () => {
        const message = `10.100.0.23 in pool tenant-a-vlan100 is held by IPClaim tenant-b/"db-1.ovs1" (é)`;
        const hs = health(claim({ conditions: [cond("Bound", "False", reason, message, 1)] }));
        assert.deepEqual(hs, { status: "Degraded", message: `${reason}: ${message}` });
      });
    }

    it("is Suspended when released by a Retain pool", () => {
      const message = "the VM is gone; addresses retained by reclaimPolicy Retain: delete this IPClaim to free them";
      const hs = health(
        claim({ released: true, addresses: ["10.100.0.23/24"], conditions: [cond("Bound", "False", "Released", message)] }),
      );
      assert.deepEqual(hs, { status: "Suspended", message });
    });

    it("is Progressing for any other reason or status", () => {
      assert.deepEqual(health(claim({ conditions: [cond("Bound", "False", "Pending", "waiting for the pool", 1)] })), {
        status: "Progressing",
        message: "waiting for the pool",
      });
      assert.equal(health(claim({ conditions: [cond("Bound", "Unknown", "Binding", "binding", 1)] })).status, "Progressing");
      assert.equal(health(claim({ conditions: [cond("Migrated", "True", "AddressKept", "kept", 1)] })).status, "Progressing");
    });
  });

  describe("the scripts as Argo CD loads them", () => {
    it("are embedded unchanged in the argocd-cm patch under resource.customizations.health.<group>_<kind>", () => {
      const cm = yaml.load(fs.readFileSync(path.join(ROOT, "config", "argocd", "argocd-cm-patch.yaml"), "utf8")) as {
        metadata: { name: string };
        data: Record<string, string>;
      };
      assert.equal(cm.metadata.name, "argocd-cm");
      assert.deepEqual(Object.keys(cm.data).sort(), HEALTH_CHECKS.map(c => c.key).sort());
      for (const c of HEALTH_CHECKS) assert.equal(cm.data[c.key], fs.readFileSync(path.join(ROOT, c.file), "utf8"), c.key);
    });

    it("use only what Argo CD's Lua 5.1 sandbox offers (no goto, integer division, os, io, require, utf8)", () => {
      for (const c of HEALTH_CHECKS) {
        const code = fs
          .readFileSync(path.join(ROOT, c.file), "utf8")
          .split("\n")
          .map(l => l.replace(/--.*$/, ""))
          .join("\n");
        assert.doesNotMatch(
          code,
          /\bgoto\b|\/\/|\bos\.|\bio\.|\brequire\b|\butf8\.|<const>|<close>|\bsetfenv\b|\bloadstring\b|\bdofile\b/,
          c.file,
        );
      }
    });
  });
});
