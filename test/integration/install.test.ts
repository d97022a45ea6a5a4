// config/ installs as written: kustomize builds it with the kubectl of the control plane, the real
// API server accepts every object in a server-side dry run (schemas, RBAC escalation checks,
// webhook and policy validation), the ClusterRole grants what the operator does and nothing more,
// and the generated parts of config/ match their sources.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import yaml from "js-yaml";
import { KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { INSTALL, OPERATOR_IDENTITY, staleConfigFiles } from "../../hack/render-config";
import { eventually } from "../helpers";
import { cluster } from "../setup/cluster";

const ROOT = path.join(__dirname, "..", "..");
const run = promisify(execFile);

async function kubectl(args: string[], stdin?: string): Promise<{ code: number; out: string; stdout: string }> {
  const bin = path.join(cluster().controlPlane.binDir, "kubectl");
  const child = run(bin, ["--kubeconfig", cluster().controlPlane.kubeconfig, ...args], {
    encoding: "utf8",
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (stdin !== undefined) child.child.stdin?.end(stdin);
  try {
    const { stdout, stderr } = await child;
    return { code: 0, out: stdout + stderr, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr, stdout: e.stdout };
  }
}

async function build(dir: string): Promise<{ text: string; objects: KubeObject[] }> {
  const { code, out, stdout } = await kubectl(["kustomize", dir]);
  assert.equal(code, 0, `kubectl kustomize ${dir} failed:\n${out}`);
  return { text: stdout, objects: (yaml.loadAll(stdout) as KubeObject[]).filter(Boolean) };
}

const kindsOf = (objects: KubeObject[]): string[] => objects.map(o => `${o.kind}/${o.metadata?.name}`).sort();

/** cert-manager's kinds as config/webhook uses them: minimal structural CRDs, like the KubeVirt fixtures. */
function certManagerCrd(kind: string, plural: string): KubeObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.cert-manager.io` },
    spec: {
      group: "cert-manager.io",
      scope: "Namespaced",
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              },
            },
          },
        },
      ],
    },
  };
}

async function installCertManagerCrds(): Promise<void> {
  const { client } = cluster();
  for (const crd of [certManagerCrd("Certificate", "certificates"), certManagerCrd("Issuer", "issuers")]) {
    await client.apply(Kinds.CustomResourceDefinition, crd);
    await eventually(`CRD ${crd.metadata?.name} Established`, async () => {
      const live = await client.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
        Kinds.CustomResourceDefinition,
        crd.metadata?.name as string,
      );
      return live.status?.conditions?.some(c => c.type === "Established" && c.status === "True");
    });
  }
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

describe("installing config/ with kustomize", function () {
  this.timeout(120_000);

  describe("generated files", () => {
    it("are up to date with crds/, hack/webhooks.ts and the Lua health checks (npx tsx hack/render-config.ts)", () => {
      assert.deepEqual(staleConfigFiles(), [], "run `npx tsx hack/render-config.ts` and commit the result");
    });

    it("config/crd holds the same CRDs as crds/, object for object", () => {
      for (const f of fs.readdirSync(path.join(ROOT, "crds")).filter(x => x.endsWith(".yaml"))) {
        const source = yaml.loadAll(fs.readFileSync(path.join(ROOT, "crds", f), "utf8")).filter(Boolean);
        const generated = yaml.loadAll(fs.readFileSync(path.join(ROOT, "config", "crd", f), "utf8")).filter(Boolean);
        assert.deepEqual(generated, source, `config/crd/${f} differs from crds/${f}`);
      }
    });
  });

  describe("the Argo CD Application example", () => {
    it("points at kustomizations that exist and ignores what the operator and cert-manager own", () => {
      const apps = yaml.loadAll(fs.readFileSync(path.join(ROOT, "config", "argocd", "application.yaml"), "utf8")).filter(Boolean) as {
        kind: string;
        spec: {
          source: { path: string };
          ignoreDifferences?: { kind: string; managedFieldsManagers?: string[]; jqPathExpressions?: string[] }[];
        };
      }[];
      assert.deepEqual(apps.map(a => a.spec.source.path).sort(), ["config/default", "config/samples"]);
      for (const a of apps) {
        assert.equal(a.kind, "Application");
        assert.ok(fs.existsSync(path.join(ROOT, a.spec.source.path, "kustomization.yaml")), a.spec.source.path);
      }
      const vmIgnore = apps.flatMap(a => a.spec.ignoreDifferences ?? []).find(d => d.kind === "VirtualMachine");
      // Earlier versions wrote the finalizer with no field manager (recorded as "undici"): the rule names the finalizer, not a manager.
      assert.deepEqual(vmIgnore?.jqPathExpressions, ['.metadata.finalizers[]? | select(. == "vmnet.io/release")']);
      assert.equal(vmIgnore?.managedFieldsManagers, undefined);
    });
  });

  for (const [dir, tls] of [
    ["config/standalone", "self-managed"],
    ["config/default", "cert-manager"],
  ] as const) {
    describe(dir, () => {
      let built: { text: string; objects: KubeObject[] };

      before(async () => {
        await installCertManagerCrds();
        built = await build(dir);
      });

      it("holds CRDs, RBAC, both Deployments, PDB, Services, the webhooks and the admission policy", () => {
        const kinds = kindsOf(built.objects);
        const want = [
          "CustomResourceDefinition/ippools.vmnet.io",
          "CustomResourceDefinition/ipclaims.vmnet.io",
          "CustomResourceDefinition/ipallocations.vmnet.io",
          "CustomResourceDefinition/peprstores.pepr.dev",
          "Namespace/pepr-system",
          "ServiceAccount/vmnet-operator",
          "ClusterRole/vmnet-operator",
          "ClusterRoleBinding/vmnet-operator",
          "Role/vmnet-operator",
          "RoleBinding/vmnet-operator",
          "Role/vmnet-operator-store",
          "RoleBinding/vmnet-operator-store",
          "Deployment/vmnet-operator",
          "Deployment/vmnet-operator-watcher",
          "PodDisruptionBudget/vmnet-operator",
          "Service/vmnet-operator",
          "Service/vmnet-operator-metrics",
          "Secret/vmnet-operator-api-path",
          "MutatingWebhookConfiguration/vmnet-operator",
          "ValidatingWebhookConfiguration/vmnet-operator",
          "ValidatingAdmissionPolicy/vmnet-operator-owned-kinds",
          "ValidatingAdmissionPolicyBinding/vmnet-operator-owned-kinds",
          "ValidatingAdmissionPolicy/vmnet-operator-expose-rights",
          "ValidatingAdmissionPolicyBinding/vmnet-operator-expose-rights",
          ...(tls === "cert-manager" ? ["Certificate/vmnet-operator-serving-cert", "Issuer/vmnet-operator-selfsigned"] : []),
        ];
        assert.deepEqual(kinds, [...want].sort());
      });

      it("is accepted by the API server in a server-side dry run of every object", async () => {
        // This cluster already runs the operator locally (hack/run-operator.ts), which registered
        // webhook configurations of the same names with a URL clientConfig: merged into those, a
        // Service clientConfig would make "exactly one of url or service" fail. Dry-run ours under
        // other names, as on a cluster without a local install. --force-conflicts: the admission
        // policy exists too, owned by the local operator's field manager (with its identity).
        const renamed = built.objects.map(o =>
          o.kind?.endsWith("WebhookConfiguration") ? { ...o, metadata: { ...o.metadata, name: `${o.metadata?.name}-install-test` } } : o,
        );
        const { code, out } = await kubectl(
          ["apply", "--server-side", "--dry-run=server", "--force-conflicts", "--field-manager=vmnet-install", "-f", "-"],
          JSON.stringify({ apiVersion: "v1", kind: "List", items: renamed }),
        );
        assert.equal(code, 0, out);
        const applied = out.split("\n").filter(l => l.includes("serverside-applied (server dry run)"));
        assert.equal(applied.length, built.objects.length, out);
      });

      it("runs the image's bundled module as admission and watcher: 2 replicas each, rolling, read-only root, distinct probes", () => {
        const deploy = (name: string): KubeObject =>
          built.objects.find(o => o.kind === "Deployment" && o.metadata?.name === name) as KubeObject;
        type Container = {
          image: string;
          env: { name: string; value?: string }[];
          volumeMounts: { mountPath: string }[];
          readinessProbe: { httpGet: { path: string } };
          livenessProbe: { httpGet: { path: string } };
          securityContext: { readOnlyRootFilesystem: boolean };
          ports: { name: string; containerPort: number }[];
        };
        type Spec = {
          replicas: number;
          strategy: { type: string };
          template: { spec: { serviceAccountName: string; containers: Container[] } };
        };
        const spec = (d: KubeObject): Spec => d.spec as Spec;
        const envOf = (c: Container, name: string): string | undefined => c.env.find(e => e.name === name)?.value;
        for (const [name, watch] of [
          ["vmnet-operator", false],
          ["vmnet-operator-watcher", true],
        ] as const) {
          const s = spec(deploy(name));
          const c = s.template.spec.containers[0];
          assert.equal(s.replicas, 2, name);
          assert.equal(s.strategy.type, "RollingUpdate", name);
          assert.equal(s.template.spec.serviceAccountName, INSTALL.serviceAccount);
          assert.equal(c.image, INSTALL.image);
          assert.equal(c.image, "localhost/vmnet-operator:0.1.0");
          assert.equal(envOf(c, "PEPR_WATCH_MODE"), String(watch));
          assert.equal(envOf(c, "VMNET_TLS_MODE"), tls);
          assert.equal(envOf(c, "VMNET_LEADER_ELECTION"), watch ? "true" : undefined);
          assert.equal(c.securityContext.readOnlyRootFilesystem, true);
          assert.deepEqual(
            c.ports.map(p => [p.name, p.containerPort]),
            [
              ["https", 3000],
              ["metrics", 9464],
            ],
          );
          assert.equal(c.readinessProbe.httpGet.path, "/readyz");
          assert.equal(c.livenessProbe.httpGet.path, "/livez");
          assert.deepEqual(c.volumeMounts.map(m => m.mountPath).sort(), watch ? ["/tmp"] : ["/app/api-path", "/tmp"]);
        }
        const svc = built.objects.find(o => o.kind === "Service" && o.metadata?.name === INSTALL.service) as KubeObject;
        assert.deepEqual((svc.spec as { ports: unknown[] }).ports, [{ name: "https", port: 443, targetPort: "https" }]);
        const pdb = built.objects.find(o => o.kind === "PodDisruptionBudget") as KubeObject & { spec: { minAvailable: number } };
        assert.equal(pdb.spec.minAvailable, 1);
      });

      it("rolls admission one pod at a time with two serving, and gives a stopping pod time to drain before the kubelet kills it", () => {
        type Spec = {
          strategy: { rollingUpdate: { maxUnavailable: number; maxSurge: number } };
          template: { spec: { terminationGracePeriodSeconds: number; containers: { env: { name: string; value?: string }[] }[] } };
        };
        const spec = built.objects.find(o => o.kind === "Deployment" && o.metadata?.name === "vmnet-operator")?.spec as Spec;
        assert.deepEqual(spec.strategy.rollingUpdate, { maxUnavailable: 0, maxSurge: 1 });
        const env = Object.fromEntries(spec.template.spec.containers[0].env.map(e => [e.name, Number(e.value)]));
        assert.ok(env.VMNET_SHUTDOWN_DELAY_SECONDS > 0, "serves on after SIGTERM while the endpoint removal spreads");
        assert.ok(env.VMNET_DRAIN_SECONDS > 10, "drains longer than the webhooks' 10 s timeout");
        assert.ok(
          spec.template.spec.terminationGracePeriodSeconds > env.VMNET_SHUTDOWN_DELAY_SECONDS + env.VMNET_DRAIN_SECONDS,
          "the grace period covers delay and drain",
        );
      });

      it("points every webhook at the admission Service with the Secret's API path token", () => {
        const secret = built.objects.find(o => o.kind === "Secret" && o.metadata?.name === "vmnet-operator-api-path") as KubeObject & {
          stringData: { value: string };
        };
        const token = secret.stringData.value;
        assert.equal(token, INSTALL.apiPathToken);
        const configs = built.objects.filter(o => o.kind?.endsWith("WebhookConfiguration"));
        assert.equal(configs.length, 2);
        for (const c of configs) {
          const inject = c.metadata?.annotations?.["cert-manager.io/inject-ca-from"];
          assert.equal(inject, tls === "cert-manager" ? `${INSTALL.namespace}/${INSTALL.certificate}` : undefined);
          for (const w of c.webhooks as { name: string; clientConfig: { service: Record<string, unknown>; url?: string } }[]) {
            const kind = c.kind === "MutatingWebhookConfiguration" ? "mutate" : "validate";
            assert.deepEqual(
              w.clientConfig,
              { service: { name: INSTALL.service, namespace: INSTALL.namespace, path: `/${kind}/${token}`, port: 443 } },
              w.name,
            );
          }
        }
      });

      it("gives the admission policy the operator's service account identity", () => {
        const policy = built.objects.find(
          o => o.kind === "ValidatingAdmissionPolicy" && o.metadata?.name === "vmnet-operator-owned-kinds",
        ) as KubeObject & { spec: { validations: { expression: string }[] } };
        assert.match(policy.spec.validations[0].expression, new RegExp(`request.userInfo.username == '${OPERATOR_IDENTITY}'`));
      });

      it("has no wildcard anywhere in its RBAC rules", () => {
        const roles = built.objects.filter(o => o.kind === "ClusterRole" || o.kind === "Role");
        assert.ok(roles.length >= 3);
        for (const role of roles) {
          for (const rule of role.rules as Rule[]) {
            const fields = [rule.apiGroups, rule.resources, rule.verbs, rule.resourceNames, rule.nonResourceURLs].flatMap(v => v ?? []);
            assert.ok(!fields.some(v => v.includes("*")), `${role.kind} ${role.metadata?.name} has a wildcard in ${JSON.stringify(rule)}`);
            assert.ok(
              rule.verbs && rule.verbs.length > 0 && rule.resources && rule.resources.length > 0,
              `${JSON.stringify(rule)} names no verbs or resources`,
            );
          }
        }
      });
    });
  }

  describe("the operator's RBAC (config/standalone), applied for real and asked with kubectl auth can-i", () => {
    const RBAC_KINDS = ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];
    let rbacObjects: KubeObject[] = [];
    before(async () => {
      rbacObjects = (await build("config/standalone")).objects.filter(o => RBAC_KINDS.includes(o.kind as string));
      const { code, out } = await kubectl(
        ["apply", "--server-side", "--field-manager=vmnet-install", "-f", "-"],
        JSON.stringify({ apiVersion: "v1", kind: "List", items: rbacObjects }),
      );
      assert.equal(code, 0, out);
    });

    after(async () => {
      await kubectl(
        ["delete", "--ignore-not-found", "--wait=false", "-f", "-"],
        JSON.stringify({ apiVersion: "v1", kind: "List", items: rbacObjects }),
      );
    });

    // [verb, resource, namespace?, subresource? / resource name?]
    const granted: [string, string, string?, string?][] = [
      ["list", "ippools.vmnet.io"],
      ["watch", "ippools.vmnet.io"],
      ["patch", "ippools.vmnet.io", undefined, "status"],
      ["create", "ipclaims.vmnet.io", "tenant-x"],
      ["patch", "ipclaims.vmnet.io", "tenant-x"],
      ["delete", "ipclaims.vmnet.io", "tenant-x"],
      ["watch", "ipclaims.vmnet.io"],
      ["patch", "ipclaims.vmnet.io", "tenant-x", "status"],
      ["create", "ipallocations.vmnet.io"],
      ["delete", "ipallocations.vmnet.io"],
      ["list", "ipallocations.vmnet.io"],
      ["list", "virtualmachines.kubevirt.io"],
      ["watch", "virtualmachines.kubevirt.io"],
      ["patch", "virtualmachines.kubevirt.io", "tenant-x"],
      ["update", "virtualmachines.kubevirt.io", "tenant-x", "finalizers"],
      ["watch", "virtualmachineinstances.kubevirt.io"],
      ["watch", "virtualmachineinstancemigrations.kubevirt.io"],
      ["watch", "network-attachment-definitions.k8s.cni.cncf.io"],
      ["list", "namespaces"],
      ["watch", "pods"],
      ["create", "services", "tenant-x"],
      ["patch", "services", "tenant-x"],
      ["delete", "services", "tenant-x"],
      ["watch", "services"],
      ["create", "events", "tenant-x"],
      ["create", "peprstores.pepr.dev", "pepr-system"],
      ["patch", "peprstores.pepr.dev/pepr-vmnet-operator-store", "pepr-system"],
      ["watch", "peprstores.pepr.dev/pepr-vmnet-operator-store", "pepr-system"],
      ["create", "subjectaccessreviews.authorization.k8s.io"],
      ["create", "leases.coordination.k8s.io", "pepr-system"],
      ["update", "leases.coordination.k8s.io/vmnet-operator-watcher", "pepr-system"],
      ["get", "leases.coordination.k8s.io/vmnet-operator-watcher", "pepr-system"],
      ["create", "secrets", "pepr-system"],
      ["get", "secrets/vmnet-operator-tls", "pepr-system"],
      ["update", "secrets/vmnet-operator-tls", "pepr-system"],
      ["patch", "mutatingwebhookconfigurations.admissionregistration.k8s.io/vmnet-operator"],
      ["patch", "validatingwebhookconfigurations.admissionregistration.k8s.io/vmnet-operator"],
    ];
    const denied: [string, string, string?, string?][] = [
      ["create", "ippools.vmnet.io"],
      ["delete", "ippools.vmnet.io"],
      ["patch", "ippools.vmnet.io"],
      ["update", "ipclaims.vmnet.io", "tenant-x"],
      ["deletecollection", "ipallocations.vmnet.io"],
      ["create", "virtualmachines.kubevirt.io", "tenant-x"],
      ["delete", "virtualmachines.kubevirt.io", "tenant-x"],
      ["patch", "virtualmachines.kubevirt.io", "tenant-x", "status"],
      ["patch", "network-attachment-definitions.k8s.cni.cncf.io", "tenant-x"],
      ["get", "secrets", "pepr-system"],
      ["list", "secrets"],
      ["create", "pods", "tenant-x"],
      ["delete", "pods", "tenant-x"],
      ["patch", "namespaces"],
      ["update", "services", "tenant-x"],
      ["delete", "events", "tenant-x"],
      ["create", "customresourcedefinitions.apiextensions.k8s.io"],
      ["patch", "mutatingwebhookconfigurations.admissionregistration.k8s.io"],
      ["patch", "mutatingwebhookconfigurations.admissionregistration.k8s.io/someone-elses"],
      ["list", "validatingwebhookconfigurations.admissionregistration.k8s.io"],
      ["get", "secrets/vmnet-operator-api-path", "pepr-system"],
      ["get", "secrets/vmnet-operator-tls", "default"],
      ["update", "leases.coordination.k8s.io/kube-scheduler", "kube-system"],
      ["update", "leases.coordination.k8s.io/someone-else", "pepr-system"],
      ["create", "leases.coordination.k8s.io", "default"],
      ["patch", "peprstores.pepr.dev/someone-elses-store", "pepr-system"],
      ["create", "peprstores.pepr.dev", "default"],
    ];

    async function canI(verb: string, resource: string, ns?: string, sub?: string): Promise<boolean> {
      const args = [
        "auth",
        "can-i",
        verb,
        resource,
        `--as=${OPERATOR_IDENTITY}`,
        ...(ns ? ["-n", ns] : ["--all-namespaces"]),
        ...(sub ? [`--subresource=${sub}`] : []),
      ];
      const { code, out } = await kubectl(args);
      assert.ok(code === 0 || /^no/m.test(out), `kubectl ${args.join(" ")}: ${out}`);
      return code === 0;
    }

    const show = ([verb, resource, ns, sub]: [string, string, string?, string?]): string =>
      `${verb} ${resource}${sub ? `/${sub}` : ""}${ns ? ` in ${ns}` : ""}`;

    it("grants each access the operator and Pepr's store make", async () => {
      const results = await Promise.all(granted.map(async g => [show(g), await canI(...g)] as const));
      assert.deepEqual(
        results.filter(([, ok]) => !ok).map(([what]) => what),
        [],
        "the ClusterRole or Role lacks these",
      );
    });

    it("refuses what the operator never does", async () => {
      const results = await Promise.all(denied.map(async d => [show(d), await canI(...d)] as const));
      assert.deepEqual(
        results.filter(([, ok]) => ok).map(([what]) => what),
        [],
        "RBAC grants more than the operator needs",
      );
    });
  });

  describe("config/samples", () => {
    let sampleNamespaces: KubeObject[] = [];

    before(async () => {
      // A server-side dry run persists nothing, so the samples' namespaces must exist before their
      // objects can be dry-run; create them for real (the gitops test uses its own copies).
      const { objects } = await build("config/samples");
      sampleNamespaces = objects.filter(o => o.kind === "Namespace");
      const { code, out } = await kubectl(
        ["apply", "--server-side", "--field-manager=vmnet-install", "-f", "-"],
        JSON.stringify({ apiVersion: "v1", kind: "List", items: sampleNamespaces }),
      );
      assert.equal(code, 0, out);
    });

    after(async () => {
      for (const ns of sampleNamespaces)
        await kubectl(["delete", "namespace", ns.metadata?.name as string, "--ignore-not-found", "--wait=false"]);
    });

    it("has pools, NADs and VMs for masquerade, a fixed OVS address, dual-stack and several NICs", async () => {
      const { objects } = await build("config/samples");
      const kinds = kindsOf(objects);
      for (const want of [
        "VirtualMachine/web-1",
        "VirtualMachine/api-1",
        "VirtualMachine/app-1",
        "VirtualMachine/db-1",
        "IPPool/tenant-b-vlan300-v4",
        "IPPool/tenant-b-vlan300-v6",
      ]) {
        assert.ok(kinds.includes(want), `config/samples lacks ${want}`);
      }
    });

    it("is accepted by the API server (and our webhooks) in a server-side dry run", async () => {
      const { code, out } = await kubectl([
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=vmnet-install",
        "-k",
        "config/samples",
      ]);
      assert.equal(code, 0, out);
      // Warnings are expected: a dry run persists nothing, so the webhook sees no NAD or pool yet.
      assert.doesNotMatch(out, /denied|error/i);
    });
  });
});
