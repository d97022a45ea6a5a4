// charts/vmnet-operator and config/ are one product: `helm lint` passes, `helm template` renders
// the same objects as `kubectl kustomize` (config/standalone for the default self-managed TLS,
// config/default for cert-manager, config/monitoring for the monitoring values), a release in any
// namespace points its identity, Service and RBAC subjects at that namespace, the real API server
// accepts it in a server-side dry run, and the alert expressions' API server series exist.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import yaml from "js-yaml";
import type { KubeObject } from "../../capabilities/k8s/client";
import { ALERTS, PANELS } from "../../hack/install/monitoring";
import { keyOf, NAMES, operatorIdentity, PEPR_STORE_NAMESPACE } from "../../hack/install/objects";
import { seriesIn } from "../../hack/install/promql";
import { cluster, freshNamespace } from "../setup/cluster";

const ROOT = path.join(__dirname, "..", "..");
const run = promisify(execFile);
const CHART = path.join(ROOT, "charts", "vmnet-operator");
const KUBE_VERSION = "1.34.4"; // helm template's default (v1.20) is below the chart's kubeVersion

let helmBin = "";

async function helm(args: string[]): Promise<string> {
  const { stdout } = await run(helmBin, args, { cwd: ROOT, maxBuffer: 64 * 2 ** 20 });
  return stdout;
}

async function kubectl(args: string[], stdin?: string): Promise<string> {
  const bin = path.join(cluster().controlPlane.binDir, "kubectl");
  const child = run(bin, ["--kubeconfig", cluster().controlPlane.kubeconfig, ...args], { cwd: ROOT, maxBuffer: 64 * 2 ** 20 });
  if (stdin !== undefined) child.child.stdin?.end(stdin);
  return (await child).stdout;
}

const parse = (text: string): KubeObject[] => (yaml.loadAll(text) as KubeObject[]).filter(o => o && typeof o === "object");

/** Objects by kind/namespace/name, with the API path token (random per Helm render) normalised. */
function normalise(objects: KubeObject[]): Map<string, KubeObject> {
  const token = (
    objects.find(o => o.kind === "Secret" && o.metadata?.name === NAMES.apiPathSecret) as { stringData?: { value?: string } } | undefined
  )?.stringData?.value;
  assert.ok(token, "no API path Secret");
  const text = JSON.stringify(objects).replaceAll(token, "TOKEN");
  return new Map((JSON.parse(text) as KubeObject[]).map(o => [keyOf(o), o]));
}

async function template(namespace: string, sets: string[] = []): Promise<KubeObject[]> {
  return parse(
    await helm([
      "template",
      "vmnet-operator",
      CHART,
      "-n",
      namespace,
      "--include-crds",
      "--kube-version",
      KUBE_VERSION,
      ...sets.flatMap(s => ["--set", s]),
    ]),
  );
}

function assertSameObjects(fromHelm: KubeObject[], fromKustomize: KubeObject[], what: string): void {
  const h = normalise(fromHelm);
  const k = normalise(fromKustomize.filter(o => o.kind !== "Namespace")); // Helm's namespace is the release's (--create-namespace)
  assert.deepEqual([...h.keys()].sort(), [...k.keys()].sort(), `${what}: different objects`);
  for (const [key, obj] of k) assert.deepEqual(h.get(key), obj, `${what}: ${key} differs`);
}

describe("the Helm chart and config/, one source", function () {
  this.timeout(300_000);

  before(async () => {
    const { stdout } = await run("bash", [path.join(ROOT, "hack", "build-helm.sh")], { maxBuffer: 2 ** 20 });
    helmBin = stdout.trim().split("\n").pop()!;
  });

  it("passes helm lint, with the default values and with cert-manager and monitoring on", async () => {
    await helm(["lint", CHART, "--strict"]);
    await helm([
      "lint",
      CHART,
      "--strict",
      "--set",
      "tls.mode=cert-manager",
      "--set",
      "monitoring.serviceMonitor.enabled=true",
      "--set",
      "monitoring.prometheusRule.enabled=true",
      "--set",
      "monitoring.dashboard.enabled=true",
    ]);
  });

  it("refuses values outside its schema", async () => {
    await assert.rejects(
      helm(["template", "x", CHART, "--kube-version", KUBE_VERSION, "--set", "tls.mode=openssl"]),
      /tls\.mode|enum|value must be one of/,
    );
  });

  it("Chart.yaml: appVersion is the package version, the CRDs are in crds/", async () => {
    const chart = yaml.load(fs.readFileSync(path.join(CHART, "Chart.yaml"), "utf8")) as { appVersion: string; version: string };
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
    assert.equal(chart.appVersion, pkg.version);
    const crds = (await template("pepr-system"))
      .filter(o => o.kind === "CustomResourceDefinition")
      .map(o => o.metadata?.name)
      .sort();
    assert.deepEqual(crds, ["ipallocations.vmnet.io", "ipclaims.vmnet.io", "ippools.vmnet.io", "peprstores.pepr.dev"]);
  });

  it("renders what config/standalone renders (default values: self-managed TLS)", async () => {
    assertSameObjects(
      await template("pepr-system"),
      parse(await kubectl(["kustomize", "config/standalone"])),
      "helm template vs config/standalone",
    );
  });

  it("renders what config/default renders with tls.mode=cert-manager", async () => {
    assertSameObjects(
      await template("pepr-system", ["tls.mode=cert-manager"]),
      parse(await kubectl(["kustomize", "config/default"])),
      "helm template vs config/default",
    );
  });

  it("renders config/monitoring's objects with the monitoring values on", async () => {
    const on = ["monitoring.serviceMonitor.enabled=true", "monitoring.prometheusRule.enabled=true", "monitoring.dashboard.enabled=true"];
    const withMonitoring = await template("pepr-system", on);
    const base = new Set((await template("pepr-system")).map(keyOf));
    const extra = withMonitoring.filter(o => !base.has(keyOf(o)));
    const expected = parse(await kubectl(["kustomize", "config/monitoring"]));
    assert.deepEqual(new Map(extra.map(o => [keyOf(o), o])), new Map(expected.map(o => [keyOf(o), o])));
  });

  describe("a release in another namespace", () => {
    let ns = "";
    let objects: KubeObject[] = [];

    before(async () => {
      ns = await freshNamespace("helm");
      objects = await template(ns);
    });

    it("puts the operator's identity, Service and RBAC subjects in the release namespace; only Pepr's store stays in pepr-system", () => {
      const namespaced = objects.filter(o => o.metadata?.namespace);
      const elsewhere = namespaced
        .filter(o => o.metadata?.namespace !== ns)
        .map(keyOf)
        .sort();
      assert.deepEqual(elsewhere, [
        `Role/${PEPR_STORE_NAMESPACE}/${NAMES.storeRole}`,
        `RoleBinding/${PEPR_STORE_NAMESPACE}/${NAMES.storeRole}`,
      ]);
      assert.ok(
        objects.some(o => o.kind === "Namespace" && o.metadata?.name === PEPR_STORE_NAMESPACE),
        "the chart creates pepr-system for Pepr's store",
      );
      for (const o of objects.filter(x => x.kind?.endsWith("Binding") && x.kind !== "ValidatingAdmissionPolicyBinding")) {
        assert.deepEqual(o.subjects, [{ kind: "ServiceAccount", name: NAMES.serviceAccount, namespace: ns }], keyOf(o));
      }
      for (const c of objects.filter(o => o.kind?.endsWith("WebhookConfiguration"))) {
        for (const w of c.webhooks as { clientConfig: { service: { namespace: string; name: string } } }[])
          assert.deepEqual([w.clientConfig.service.namespace, w.clientConfig.service.name], [ns, NAMES.service]);
      }
      const vap = objects.find(o => o.kind === "ValidatingAdmissionPolicy") as { spec: { validations: { expression: string }[] } };
      assert.match(vap.spec.validations[0].expression, new RegExp(`^request.userInfo.username == '${operatorIdentity(ns)}'`));
      assert.doesNotMatch(
        JSON.stringify(objects.filter(o => !o.metadata?.name?.includes("store") && o.kind !== "Namespace")),
        /pepr-system/,
      );
    });

    it("is accepted by the API server in a server-side dry run of every object", async () => {
      // The shared cluster runs the operator locally with webhook configurations of the same names
      // (URL clientConfig): dry-run ours under other names. pepr-system exists (created for real by
      // the harness's operator store), so its Namespace object is dry-run too.
      const renamed = objects.map(o =>
        o.kind?.endsWith("WebhookConfiguration") ? { ...o, metadata: { ...o.metadata, name: `${o.metadata?.name}-chart-test` } } : o,
      );
      const out = await kubectl(
        ["apply", "--server-side", "--dry-run=server", "--force-conflicts", "--field-manager=vmnet-chart-test", "-f", "-"],
        JSON.stringify({ apiVersion: "v1", kind: "List", items: renamed }),
      );
      assert.equal(out.split("\n").filter(l => l.includes("serverside-applied (server dry run)")).length, objects.length, out);
    });
  });

  it("alert and dashboard expressions name API server series that the real API server exports", async () => {
    // The API server exports a webhook series once it has called a webhook: a dry-run IPPool
    // goes through the (local) operator's ippools.vmnet.io validating webhook.
    const pool = {
      apiVersion: "vmnet.io/v1alpha1",
      kind: "IPPool",
      metadata: { name: "chart-test-metrics" },
      spec: { cidr: "10.250.0.0/24", gateway: "10.250.0.1", networks: ["default/none"] },
    };
    await kubectl(["create", "--dry-run=server", "-f", "-"], JSON.stringify(pool)).catch(() => undefined);
    const text = await kubectl(["get", "--raw", "/metrics"]);
    const exported = new Set(
      text
        .split("\n")
        .map(l => /^# TYPE (\S+) (\S+)/.exec(l))
        .filter(Boolean)
        .flatMap(m => {
          const [, name, type] = m!;
          return type === "histogram" ? [name, `${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
        }),
    );
    const used = [...new Set([...ALERTS, ...PANELS].flatMap(a => seriesIn(a.expr)).filter(s => s.startsWith("apiserver_")))];
    assert.ok(used.length >= 2, `expected API server series in the alerts, got ${used.join(", ")}`);
    assert.deepEqual(
      used.filter(s => !exported.has(s)),
      [],
      "series the API server does not export",
    );
  });
});
