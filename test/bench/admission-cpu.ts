// CPU per admission review of our own code, without HTTP, TLS or a cluster: the front server's
// gate, the direct dispatch and our rules, answer serialised, for the VM review and the launcher
// pod review that test/bench/admission.ts sends. The loaded, shared machine makes the latency bench's
// CPU-per-request figure swing by a third from run to run; this one repeats within a few percent.
//   npx tsx test/bench/admission-cpu.ts [--reviews N] [--rounds R]
import { admissionCapability } from "../../capabilities/admission";
import type { AdmissionPort, AdmissionView } from "../../capabilities/domain/admission-port";
import { AdmissionRequest, directAdmission } from "../../capabilities/webhook-server/dispatch";
import { gate } from "../../capabilities/webhook-server/gate";
import { OVS_STATIC_CONFIG, vmManifest } from "../helpers";
import { KUBEVIRT_USER } from "../kubevirt-sim/identity";
import { launcherPod } from "./admission";
import { nad, snapshot } from "../unit/admission/fixtures";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

const ns = "bench-admission";
const boundClaim = {
  metadata: { name: "web.ovs1", namespace: ns },
  spec: { vm: "web", interface: "ovs1", network: `${ns}/vlan100`, pool: "bench-admission" },
  status: { addresses: ["10.240.0.20/24"], mac: "02:00:0a:f0:00:14", conditions: [{ type: "Bound", status: "True" }] },
};

/** The bench's cluster as the rules see it: one pool on one OVS NAD, the bench VM's claim bound. */
function view(): AdmissionView {
  const pools = [
    { metadata: { name: "bench-admission" }, spec: { cidr: "10.240.0.0/24", gateway: "10.240.0.1", networks: [`${ns}/vlan100`] } },
  ];
  const base = snapshot({ pools, nads: [nad(ns, "vlan100", OVS_STATIC_CONFIG("vlan100"))], namespaces: { [ns]: {} } });
  return {
    ...base,
    pools: () => pools,
    claimsOfVm: (n, vm) => (n === ns && vm === "web" ? [boundClaim] : []),
    macHolders: () => [],
  } as AdmissionView;
}

function reviewText(kind: AdmissionRequest["kind"], resource: string, object: unknown, username: string): string {
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "0b6c1a9e-4c4e-4bd8-9d1f-1d2a3b4c5d6e",
      kind,
      resource: { group: kind.group, version: kind.version, resource },
      requestKind: kind,
      requestResource: { group: kind.group, version: kind.version, resource },
      namespace: ns,
      operation: "CREATE",
      userInfo: { username },
      object,
      dryRun: false,
    },
  });
}

async function main(): Promise<void> {
  const v = view();
  const port: AdmissionPort = { view: async () => v, refreshPools: async () => {}, bindNow: async () => {} };
  const direct = directAdmission([admissionCapability(port)], { uuid: "vmnet-operator", ignoredNamespaces: [] });
  const vm = vmManifest(
    ns,
    "web",
    [
      { name: "default", ports: [{ port: 80 }] },
      { name: "ovs1", network: "vlan100" },
    ],
    {},
  );
  const vmText = reviewText(
    { group: "kubevirt.io", version: "v1", kind: "VirtualMachine" },
    "virtualmachines",
    { ...vm, metadata: { ...vm.metadata, name: "web-2", annotations: {} } },
    "bench",
  );
  const pod = launcherPod(ns);
  const podText = reviewText({ group: "", version: "v1", kind: "Pod" }, "pods", pod, KUBEVIRT_USER);
  const reviews = arg("reviews", 5000);
  for (const [name, which, text] of [
    ["VM validation", "validate", vmText],
    ["launcher-pod mutation", "mutate", podText],
  ] as const) {
    const once = async (): Promise<string> => {
      const verdict = gate(text);
      return direct(which, verdict.review!.request as AdmissionRequest);
    };
    const answer = JSON.parse(await once()) as { response: { allowed: boolean; patch?: string } };
    if (!answer.response.allowed || (which === "mutate" && !answer.response.patch))
      throw new Error(`${name}: unexpected answer ${JSON.stringify(answer)}`);
    for (let i = 0; i < reviews; i++) await once(); // warm-up (JIT)
    const figures: number[] = [];
    for (let r = 0; r < arg("rounds", 5); r++) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < reviews; i++) await once();
      const used = process.cpuUsage(t0);
      figures.push((used.user + used.system) / reviews);
    }
    figures.sort((a, b) => a - b);
    console.log(
      `${name} (${text.length} bytes): ${figures[Math.floor(figures.length / 2)].toFixed(1)} µs CPU per review (median of ${figures.length} rounds of ${reviews}; min ${figures[0].toFixed(1)}, max ${figures[figures.length - 1].toFixed(1)})`,
    );
  }
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
