// Our VM validator against KubeVirt's own verdicts (kubevirt-cases.ts says where each case comes
// from): every case must agree, and the agreement is printed as a figure.
import assert from "node:assert/strict";
import { interfaceProblems, kubevirtNetworkVerdict, validateNAD, validateVM } from "../../../capabilities/admission/rules";
import type { ValidationResult } from "../../../capabilities/admission/rules";
import { KUBEVIRT_RELEASE } from "../../../capabilities/domain/kubevirt-rules";
import { DOC_NADS, KUBEVIRT_TEST_CASES, KubeVirtCase, USER_GUIDE_VMS } from "./kubevirt-cases";
import { IFACES, NETS, assertDenied, assertNoDenials, assertWarned, nad, snapshot, tenantWorld, vm } from "./fixtures";

const TEMPLATE = "spec.template.spec";
const empty = snapshot({ namespaces: { "tenant-a": {} } });

/** The case as a VM in namespace tenant-a; absent lists are left out, as in KubeVirt's tests. */
export function caseVM(c: KubeVirtCase): Record<string, unknown> {
  const devices: Record<string, unknown> = { ...c.devices };
  if (c.interfaces) devices.interfaces = c.interfaces;
  const spec: Record<string, unknown> = { domain: { devices }, ...c.spec };
  if (c.networks) spec.networks = c.networks;
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachine",
    metadata: { namespace: "tenant-a", name: "vm" },
    spec: { runStrategy: "Always", template: { spec } },
  };
}

/** Our verdict on a case: create, or an update of the same VM for `update` cases. */
export function ourVerdict(c: KubeVirtCase, validate: typeof validateVM = validateVM): ValidationResult {
  const v = caseVM(c);
  return c.update ? validate(v, empty, structuredClone(v)) : validate(v, empty);
}

/** Whether our verdict agrees: same accept/deny, and for a denial one at KubeVirt's field. */
export function agrees(c: KubeVirtCase, r: ValidationResult): boolean {
  if (c.kubevirt === "accept") return r.denials.length === 0;
  const at = `${TEMPLATE}.${c.at ?? ""}`;
  return r.denials.some(d => d.field === at || d.field.startsWith(`${at}.`) || d.field.startsWith(`${at}[`));
}

function describeCases(title: string, cases: KubeVirtCase[]): void {
  describe(title, () => {
    let agreed = 0;
    after(() => console.log(`      ${title}: ${agreed} of ${cases.length} agree with KubeVirt ${KUBEVIRT_RELEASE}`));
    for (const c of cases) {
      it(`${c.kubevirt === "accept" ? "accepts" : "refuses"}: ${c.from}${c.defaults ? ` [default gates: ${c.defaults}]` : ""}`, () => {
        const r = ourVerdict(c);
        assert.ok(
          agrees(c, r),
          `KubeVirt ${c.kubevirt === "accept" ? "accepts" : `refuses at ${c.at}`}; we said ${JSON.stringify(r.denials, null, 1)}`,
        );
        agreed++;
        for (const d of r.denials)
          assert.ok(d.field.length > 0 && d.message.includes(";"), `a denial names a field and a fix: ${d.message}`);
      });
    }
  });
}

describe(`agreement with KubeVirt ${KUBEVIRT_RELEASE} network admission (default feature gates)`, () => {
  describeCases("KubeVirt's admitter test cases", KUBEVIRT_TEST_CASES);
  describeCases("KubeVirt user guide network manifests", USER_GUIDE_VMS);

  describe("NAD configs from the KubeVirt user guide and ovs-cni's docs", () => {
    for (const c of DOC_NADS) {
      it(`accepts ${c.from}`, () => assertNoDenials(validateNAD(nad("tenant-a", "doc-net", JSON.stringify(c.config)), empty)));
    }
  });
});

const OURS = "vmnet-operator's rule";

describe("where vmnet-operator differs from KubeVirt on purpose, the message says so", () => {
  const snap = snapshot(tenantWorld());
  const one = (i: Record<string, unknown>, n: Record<string, unknown>, annotations?: Record<string, unknown>): Record<string, unknown> =>
    vm({ interfaces: [i], networks: [n], annotations });

  it("refuses a Multus name no NetworkAttachmentDefinition can have", () => {
    const r = validateVM(one({ name: "a", bridge: {} }, { name: "a", multus: { networkName: "Tenant_A/x" } }), snap);
    assertDenied(r, `${NETS}[0].multus.networkName`, '"Tenant_A/x"', OURS);
  });

  it("refuses multicast and all-zero MACs, which KubeVirt admits", () => {
    for (const mac of ["01:00:5e:00:00:01", "00:00:00:00:00:00"]) {
      const r = validateVM(one({ name: "default", masquerade: {}, macAddress: mac }, { name: "default", pod: {} }), snap);
      assertDenied(r, `${IFACES}[0].macAddress`, OURS);
    }
  });

  it("refuses a port listed twice only when vmnet.io/expose makes a Service of the ports", () => {
    const ports = [{ port: 80 }, { port: 80, protocol: "TCP" }];
    const plain = one({ name: "default", masquerade: {}, ports }, { name: "default", pod: {} });
    assertNoDenials(validateVM(plain, snap));
    const exposed = one({ name: "default", masquerade: {}, ports }, { name: "default", pod: {} }, { "vmnet.io/expose": "ClusterIP" });
    assertDenied(validateVM(exposed, snap), `${IFACES}[0].ports[1]`, "80/TCP", OURS);
  });

  it("warns that only bridge NICs get a pool address on a pool-backed network", () => {
    const r = validateVM(one({ name: "ovs1", sriov: {} }, { name: "ovs1", multus: { networkName: "vlan100" } }), snap);
    assertNoDenials(r);
    assertWarned(r, `${NETS}[0].multus.networkName`, "only bridge interfaces get a fixed address", "sriov", OURS);
  });
});

describe("KubeVirt's rules beyond its tests", () => {
  const snap = snapshot(tenantWorld());
  const pod = (i: Record<string, unknown>): Record<string, unknown> => vm({ interfaces: [i], networks: [{ name: "default", pod: {} }] });

  it('reads macAddress "" as unset', () => assertNoDenials(validateVM(pod({ name: "default", masquerade: {}, macAddress: "" }), snap)));

  it("accepts the dotted MAC form Go reads, and refuses the reserved MAC in any spelling", () => {
    assertNoDenials(validateVM(pod({ name: "default", masquerade: {}, macAddress: "0200.0a64.0017" }), snap));
    const r = validateVM(pod({ name: "default", masquerade: {}, macAddress: "02-00-00-00-00-00" }), snap);
    assertDenied(r, `${IFACES}[0].macAddress`, "pod-side bridge", OURS);
  });

  it("reads an NTP server as Go's net.ParseIP(s).To4() does: an IPv4-mapped address is IPv4 there (not to our address core)", () => {
    const ntp = (server: string): ReturnType<typeof validateVM> =>
      validateVM(pod({ name: "default", masquerade: {}, dhcpOptions: { ntpServers: [server] } }), snap);
    assertNoDenials(ntp("::ffff:127.0.0.1"));
    assertNoDenials(ntp("::ffff:7f00:1"));
    assertDenied(ntp("fd00::1"), `${IFACES}[0].dhcpOptions.ntpServers[0]`, "not an IPv4 address");
  });

  it("refuses SCTP in ports without suggesting it", () => {
    const r = validateVM(pod({ name: "default", masquerade: {}, ports: [{ port: 5000, protocol: "SCTP" }] }), snap);
    const d = assertDenied(r, `${IFACES}[0].ports[0].protocol`, "TCP or UDP");
    assert.ok(!d.message.includes("TCP, UDP or SCTP"), d.message);
  });

  it("ignores ports on a Multus network, with a warning", () => {
    const r = validateVM(
      vm({
        interfaces: [{ name: "ovs1", bridge: {}, ports: [{ port: 0, protocol: "SCTP" }] }],
        networks: [{ name: "ovs1", multus: { networkName: "vlan100" } }],
      }),
      snap,
    );
    assertNoDenials(r);
    assertWarned(r, `${IFACES}[0].ports`, "only on the pod network");
  });

  it("says what to use instead of each discontinued binding, and tells a plugin binding apart from no binding", () => {
    assertDenied(
      validateVM(pod({ name: "default", macvtap: {} }), snap),
      `${IFACES}[0].macvtap`,
      "discontinued",
      'binding: {name: "macvtap"}',
    );
    assertDenied(validateVM(pod({ name: "default", slirp: {} }), snap), `${IFACES}[0].slirp`, "passtBinding");
    const none = assertDenied(validateVM(pod({ name: "default" }), snap), `${IFACES}[0]`, "sets no binding");
    assert.ok(none.message.includes("passtBinding") && none.message.includes("binding: {name"), none.message);
  });

  it("warns about a binding plugin unless the KubeVirt CR registers it", () => {
    const plugin = pod({ name: "default", binding: { name: "macvtap" } });
    assertWarned(validateVM(plugin, snap), `${IFACES}[0].binding.name`, "spec.configuration.network.binding");
    const registered = { ...snap, bindingPlugins: (): string[] => ["macvtap"] };
    assert.deepEqual(validateVM(plugin, registered).warnings, []);
    const other = { ...snap, bindingPlugins: (): string[] => ["passt"] };
    assertWarned(validateVM(plugin, other), `${IFACES}[0].binding.name`, 'registers "passt"');
  });

  it("gives a controller KubeVirt's verdict on one NIC of a stored VM", () => {
    const stored = vm({
      interfaces: [
        { name: "default", masquerade: {} },
        { name: "ovs1", bridge: {}, model: "fancy" },
      ],
    });
    const verdict = kubevirtNetworkVerdict(stored);
    assert.equal(interfaceProblems(verdict, stored, "default").length, 0);
    assert.equal(interfaceProblems(verdict, stored, "ovs1")[0]?.field, `${IFACES}[1].model`);
  });
});

describe("KubeVirt's rules on malformed fields", () => {
  it("names the field of every wrong type instead of throwing", () => {
    const weird = {
      metadata: { namespace: "tenant-a", name: "v" },
      spec: {
        template: {
          spec: {
            readinessProbe: 5,
            domain: {
              devices: {
                disks: "x",
                interfaces: [
                  {
                    name: "a",
                    masquerade: {},
                    state: 5,
                    dhcpOptions: { privateOptions: "x", ntpServers: [5] },
                    bootOrder: "1",
                    model: 3,
                    pciAddress: 7,
                    ports: [null, { port: 1.5, name: 5 }],
                  },
                  { name: "b", binding: { name: "" }, portRanges: [] },
                ],
              },
            },
            networks: [
              { name: "a", pod: {} },
              { name: "b", multus: "x" },
            ],
          },
        },
      },
    };
    const r = validateVM(weird, empty);
    for (const field of [
      "state",
      "model",
      "pciAddress",
      "bootOrder",
      "ports[0]",
      "ports[1].port",
      "ports[1].name",
      "dhcpOptions.privateOptions",
      "dhcpOptions.ntpServers[0]",
    ])
      assertDenied(r, `${IFACES}[0].${field}`);
    assertDenied(r, `${IFACES}[1].binding.name`, OURS);
    assertDenied(r, `${IFACES}[1].portRanges`, "PortRangesSpec");
    assertDenied(r, `${NETS}[1].multus`, "must be an object");
  });
});
