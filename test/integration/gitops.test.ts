// GitOps: the samples, applied the way Argo CD syncs them (server-side apply under its field
// manager, with its tracking annotation and label), stay in sync once the operator has done its
// work: `kubectl diff --server-side` under the same field manager prints nothing. The operator's
// own writes (VM finalizers, pool status, claims, Services) must never show up as drift.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import yaml from "js-yaml";
import type { IPClaim } from "../../capabilities/api/ipclaim-v1alpha1";
import type { IPPool } from "../../capabilities/api/ippool-v1alpha1";
import { KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { runHealthCheck } from "../../hack/render-config";
import { boundClaim, eventually } from "../helpers";
import { cluster } from "../setup/cluster";

const ROOT = path.join(__dirname, "..", "..");
const run = promisify(execFile);
const FIELD_MANAGER = "argocd-controller";
const APP = "vmnet-samples";
const TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id";
const TRACKING_LABEL = "app.kubernetes.io/instance";

async function kubectl(args: string[]): Promise<{ code: number; stdout: string; out: string }> {
  const bin = path.join(cluster().controlPlane.binDir, "kubectl");
  try {
    const { stdout, stderr } = await run(bin, ["--kubeconfig", cluster().controlPlane.kubeconfig, ...args], {
      encoding: "utf8",
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, out: e.stdout + e.stderr };
  }
}

interface Copy {
  objects: KubeObject[];
  namespaces: string[];
}

/**
 * A copy of the samples that cannot clash with other tests: namespaces and pool names made
 * unique, subnets moved to 10.250-252.<n>.0/24 and fd00:250:<n>::/64 (other tests use
 * 10.100-199.x.0/24), and Argo CD's tracking annotation and label on every object.
 */
function uniqueCopy(built: string): Copy {
  const n = 1 + crypto.randomInt(254);
  const sfx = crypto.randomBytes(3).toString("hex");
  const replacements: [RegExp, string][] = [
    [/tenant-a/g, `ga-${sfx}`],
    [/tenant-b/g, `gb-${sfx}`],
    [/10\.100\.0\./g, `10.250.${n}.`],
    [/10\.100\.1\./g, `10.253.${n}.`],
    [/10\.210\.0\./g, `10.251.${n}.`],
    [/10\.220\.0\./g, `10.252.${n}.`],
    [/fd00:210::/g, `fd00:250:${n.toString(16)}::`],
  ];
  let text = built;
  for (const [from, to] of replacements) text = text.replace(from, to);
  for (const m of text.matchAll(/\b10\.(\d+)\.\d+\.\d+/g)) {
    assert.ok(
      Number(m[1]) >= 250,
      `a sample uses ${m[0]}, which this test does not move out of other tests' subnets: add it to uniqueCopy()`,
    );
  }
  assert.doesNotMatch(text, /fd00:(?!250:)/, "a sample uses an IPv6 prefix this test does not move: add it to uniqueCopy()");
  const objects = (yaml.loadAll(text) as KubeObject[]).filter(Boolean).map(o => {
    const group = o.apiVersion?.includes("/") ? o.apiVersion.split("/")[0] : "";
    const id = `${APP}:${group}/${o.kind}:${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
    const metadata = {
      ...o.metadata,
      labels: { ...o.metadata?.labels, [TRACKING_LABEL]: APP },
      annotations: { ...o.metadata?.annotations, [TRACKING_ANNOTATION]: id },
    };
    return { ...o, metadata };
  });
  return { objects, namespaces: objects.filter(o => o.kind === "Namespace").map(o => o.metadata?.name as string) };
}

interface Vm extends KubeObject {
  spec: { template: { spec: { domain: { devices: { interfaces: { name: string; bridge?: object }[] } } } } };
}

/** The claims the operator must make: one per bridge NIC of each VM. */
const claimsOf = (vm: Vm): string[] =>
  vm.spec.template.spec.domain.devices.interfaces.filter(i => i.bridge).map(i => `${vm.metadata?.name}.${i.name}`);

async function poolReady(name: string): Promise<void> {
  await eventually(
    `IPPool ${name} Ready for its generation`,
    async () => {
      const live = await cluster().client.get<IPPool>(Kinds.IPPool, name);
      const ready = live.status?.conditions?.find(c => c.type === "Ready");
      return live.status?.observedGeneration === live.metadata?.generation && ready?.status === "True";
    },
    60_000,
  );
}

async function serviceOf(vm: KubeObject): Promise<void> {
  await eventually(
    `the Service of exposed VM ${vm.metadata?.name}`,
    () => cluster().client.getOrUndefined(Kinds.Service, vm.metadata?.name as string, vm.metadata?.namespace),
    60_000,
  );
}

const hasLua = ((): boolean => {
  try {
    execFileSync("lua5.4", ["-v"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("GitOps: the samples under Argo CD's server-side apply", function () {
  this.timeout(180_000);
  let copy: Copy;
  let file: string;
  let dir: string;

  before(async () => {
    const { code, out, stdout } = await kubectl(["kustomize", "config/samples"]);
    assert.equal(code, 0, out);
    copy = uniqueCopy(stdout);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmnet-gitops-"));
    file = path.join(dir, "samples.yaml");
    fs.writeFileSync(file, copy.objects.map(o => yaml.dump(o, { noRefs: true })).join("---\n"));
  });

  after(() => {
    // The objects stay: the control plane lives for one test run, and names and subnets are unique
    // to this file. (Deleting the VMs here made the harness's operator take about 90 s to stop at
    // teardown, in about half the runs: its webhook server waits for the API server's keep-alive
    // connections after SIGTERM.)
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("applies with server-side apply as argocd-controller", async () => {
    const { code, out } = await kubectl(["apply", "--server-side", `--field-manager=${FIELD_MANAGER}`, "-f", file]);
    assert.equal(code, 0, out);
    assert.doesNotMatch(out, /denied/);
  });

  it("is reconciled by the operator: claims Bound, pools with status, Services for exposed VMs, no finalizer on VMs", async () => {
    const vms = copy.objects.filter(o => o.kind === "VirtualMachine") as Vm[];
    const claims = vms.flatMap(vm => claimsOf(vm).map(name => ({ ns: vm.metadata?.namespace as string, name })));
    assert.ok(claims.length >= 4, `the samples should have at least 4 bridge NICs, found ${claims.length}`);
    await Promise.all(claims.map(c => boundClaim(c.ns, c.name, 60_000)));
    await Promise.all(copy.objects.filter(o => o.kind === "IPPool").map(p => poolReady(p.metadata?.name as string)));
    await Promise.all(vms.filter(v => v.metadata?.annotations?.["vmnet.io/expose"]).map(serviceOf));
    for (const vm of vms.filter(v => claimsOf(v).length > 0)) {
      const live = await cluster().client.get<KubeObject>(Kinds.VirtualMachine, vm.metadata?.name as string, vm.metadata?.namespace);
      assert.ok(!live.metadata?.finalizers?.includes("vmnet.io/release"), `VM ${vm.metadata?.name} has finalizer vmnet.io/release`);
    }
  });

  it("gave the dual-stack NIC one address per family and web-1 its requested address", async () => {
    const { client } = cluster();
    // The samples arrive in one apply, so the VM may be seen before its IPv6 pool: the claim is
    // then bound with IPv4 first and gets its IPv6 address when the pool's event re-renders it.
    const ns = copy.namespaces.find(n => n.startsWith("gb-"));
    const dual = await eventually(
      "the dual-stack claim db-1.ovs1 to show two addresses",
      async () => {
        const claim = await client.get<IPClaim>(Kinds.IPClaim, "db-1.ovs1", ns);
        return claim.status?.addresses?.length === 2 ? claim : undefined;
      },
      60_000,
    );
    assert.equal(dual.status?.addresses?.length, 2, JSON.stringify(dual.status));
    assert.ok(
      dual.status?.addresses?.some(a => a.includes(":")),
      JSON.stringify(dual.status),
    );
    const fixed = await client.get<IPClaim>(
      Kinds.IPClaim,
      "web-1.ovs1",
      copy.namespaces.find(n => n.startsWith("ga-")),
    );
    assert.match(fixed.status?.addresses?.[0] ?? "", /^10\.250\.\d+\.23\/24$/);
  });

  it("shows no drift: kubectl diff --server-side as argocd-controller prints nothing and exits 0", async () => {
    const { code, out } = await kubectl(["diff", "--server-side", `--field-manager=${FIELD_MANAGER}`, "-f", file]);
    assert.equal(out.trim(), "", `drift after the operator reconciled:\n${out}`);
    assert.equal(code, 0, out);
  });

  it("would show drift, were there any (kubectl diff exits 1 on a changed copy)", async () => {
    const changed = copy.objects.map(o =>
      o.kind === "IPPool" ? { ...o, metadata: { ...o.metadata, labels: { ...o.metadata?.labels, "vmnet.io/drift-probe": "yes" } } } : o,
    );
    const other = path.join(dir, "changed.yaml");
    fs.writeFileSync(other, changed.map(o => yaml.dump(o, { noRefs: true })).join("---\n"));
    const { code, out } = await kubectl(["diff", "--server-side", `--field-manager=${FIELD_MANAGER}`, "-f", other]);
    assert.equal(code, 1, out);
    assert.match(out, /\+\s+vmnet\.io\/drift-probe: "?yes"?/);
  });

  it("keeps Argo CD's tracking annotation and label off the objects the operator makes", async () => {
    const { client } = cluster();
    assert.ok(copy.namespaces.length > 0, "the samples define no namespace");
    let checked = 0;
    for (const ns of copy.namespaces) {
      const owned = [
        ...(await client.list<KubeObject>(Kinds.IPClaim, { namespace: ns })).items,
        ...(await client.list<KubeObject>(Kinds.Service, { namespace: ns })).items,
      ];
      assert.ok(owned.length > 0 || ns.startsWith("gb-"), `no claims or Services in ${ns}`);
      checked += owned.length;
      for (const o of owned) {
        assert.equal(
          o.metadata?.annotations?.[TRACKING_ANNOTATION],
          undefined,
          `${o.kind} ${ns}/${o.metadata?.name} carries Argo CD's tracking annotation`,
        );
        assert.equal(
          o.metadata?.labels?.[TRACKING_LABEL],
          undefined,
          `${o.kind} ${ns}/${o.metadata?.name} carries Argo CD's tracking label`,
        );
      }
    }
    const expected = (copy.objects.filter(o => o.kind === "VirtualMachine") as Vm[]).flatMap(claimsOf).length;
    assert.ok(checked >= expected, `checked ${checked} operator-made objects, expected at least the ${expected} claims`);
  });

  it("reports the reconciled pools and claims Healthy through the Argo CD health checks (lua5.4)", async function () {
    if (!hasLua) {
      if (process.getuid?.() === 0) assert.fail("lua5.4 is not installed: run `apt-get install lua5.4` (.ci/run installs it)");
      console.warn("[gitops] SKIPPED: lua5.4 is not installed (apt-get install lua5.4), so the Argo CD health checks cannot run");
      this.skip();
    }
    const { client } = cluster();
    const pools = copy.objects.filter(o => o.kind === "IPPool");
    assert.ok(pools.length > 0, "the samples define no IPPool");
    let claims = 0;
    for (const pool of pools) {
      const live = await client.get<IPPool>(Kinds.IPPool, pool.metadata?.name as string);
      assert.equal(
        runHealthCheck("IPPool", live).status,
        "Healthy",
        `IPPool ${pool.metadata?.name}: ${JSON.stringify(runHealthCheck("IPPool", live))}`,
      );
    }
    for (const ns of copy.namespaces) {
      for (const claim of (await client.list<IPClaim>(Kinds.IPClaim, { namespace: ns })).items) {
        const hs = runHealthCheck("IPClaim", claim);
        assert.equal(hs.status, "Healthy", `IPClaim ${ns}/${claim.metadata?.name}: ${JSON.stringify(hs)}`);
        assert.match(hs.message ?? "", /^Bound: /);
        claims++;
      }
    }
    const expected = (copy.objects.filter(o => o.kind === "VirtualMachine") as Vm[]).flatMap(claimsOf).length;
    assert.equal(claims, expected, "every claim of the samples went through the health check");
  });
});
