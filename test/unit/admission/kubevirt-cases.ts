// KubeVirt's verdicts on VM network shapes, as data: the cases of KubeVirt's own admitter tests,
// written down by us from reading them (no code copied), plus the VM manifests of the KubeVirt user
// guide's network pages and the NAD configs of ovs-cni's docs, which must be accepted.
//
// Provenance:
//   KubeVirt v1.9.0 (tag v1.9.0, commit 79d34c1762169e5b0370ec491cef5ca12e6b504c), files under pkg/:
//     network/admitter/{admit,binding,discontinued,passt,netiface,netsource,dra}_test.go and the
//     interface parts of virt-api/webhooks/validating-webhook/admitters/vmi-create-admitter_test.go.
//   kubevirt/user-guide at commit bf1f3564e2a41eb059df5ab126724bb78cf15200, docs/network/**.md.
//   k8snetworkplumbingwg/ovs-cni v0.39.0 docs (README.md, docs/*.md).
// `from` names the file and the test (Describe / It / Entry) or the manifest's line.
//
// KubeVirt's tests run the validator with a stub configuration, often with gates that are not the
// defaults. `kubevirt` here is KubeVirt's verdict with v1.9.0's DEFAULT gates and configuration; where
// that differs from the test's own expectation, `defaults` says why.
type Obj = Record<string, unknown>;

export interface KubeVirtCase {
  from: string;
  interfaces?: Obj[];
  networks?: Obj[];
  /** Extra fields of spec.template.spec.domain.devices (disks, autoattachPodInterface). */
  devices?: Obj;
  /** Extra fields of spec.template.spec (probes, resourceClaims). */
  spec?: Obj;
  /** An update of an existing VM (discontinued bindings are refused only on create). */
  update?: true;
  kubevirt: "accept" | "deny";
  /** For a denial: the field (under spec.template.spec.) one of our denials must be at or under. */
  at?: string;
  /** Why the verdict with default gates differs from the verdict KubeVirt's test expects. */
  defaults?: string;
}

const pod = (name = "default"): Obj => ({ name, pod: {} });
const multus = (name: string, networkName: string, extra: Obj = {}): Obj => ({ name, multus: { networkName, ...extra } });
const iface = (name: string, binding: string, extra: Obj = {}): Obj => ({ name, [binding]: {}, ...extra });
const masq = (extra: Obj = {}, name = "default"): Obj => iface(name, "masquerade", extra);
const IF0 = "domain.devices.interfaces[0]";

const ADMITTER = "network/admitter";
const GATE_BRIDGE = "test disables permitBridgeInterfaceOnPodNetwork, which is on by default";
const GATE_PASST = "test disables the PasstBinding gate, which is beta and on by default";
const GATE_PORT_RANGES = "test enables the PortRangesSpec gate, which is alpha and off by default";
const GATE_DRA = "test enables the NetworkDevicesWithDRA gate, which is alpha and off by default";

const stateCases: KubeVirtCase[] = [
  ...["", "absent", "up", "down"].map(
    (state): KubeVirtCase => ({
      from: `${ADMITTER}/admit_test.go: network interface state valid value / ${state || "is empty"}`,
      interfaces: [iface("foo", "bridge", { state })],
      networks: [multus("foo", "net")],
      kubevirt: "accept",
    }),
  ),
  {
    from: `${ADMITTER}/admit_test.go: network interface state value is invalid`,
    interfaces: [masq({ state: "foo" }, "foo")],
    networks: [pod("foo")],
    kubevirt: "deny",
    at: `${IF0}.state`,
  },
  ...[
    ["down", "down is not supported for sriov"],
    ["up", "up is not supported for sriov"],
    ["absent", "absent is not supported when bridge-binding is not used"],
  ].map(
    ([state, test]): KubeVirtCase => ({
      from: `${ADMITTER}/admit_test.go: network interface state / ${test}`,
      interfaces: [iface("foo", "sriov", { state })],
      networks: [multus("foo", "net")],
      kubevirt: "deny",
      at: `${IF0}.state`,
    }),
  ),
  {
    from: `${ADMITTER}/admit_test.go: network interface state value of absent is not supported on the default network`,
    interfaces: [iface("foo", "bridge", { state: "absent" })],
    networks: [pod("foo")],
    kubevirt: "deny",
    at: `${IF0}.state`,
  },
];

const bindingCases: KubeVirtCase[] = [
  {
    from: `${ADMITTER}/binding_test.go: network interface has both binding plugin and interface binding method`,
    interfaces: [iface("foo", "bridge", { binding: { name: "boo" } })],
    networks: [pod("foo")],
    kubevirt: "deny",
    at: IF0,
  },
  {
    from: `${ADMITTER}/binding_test.go: network interface has only plugin binding`,
    interfaces: [{ name: "foo", binding: { name: "boo" } }],
    networks: [pod("foo")],
    kubevirt: "accept",
  },
  {
    from: `${ADMITTER}/binding_test.go: network interface has neither binding plugin nor interface binding method`,
    interfaces: [{ name: "foo" }],
    networks: [pod("foo")],
    kubevirt: "deny",
    at: IF0,
  },
  {
    from: `${ADMITTER}/binding_test.go: network interface has more than one binding method`,
    interfaces: [{ name: "foo", bridge: {}, masquerade: {} }],
    networks: [pod("foo")],
    kubevirt: "deny",
    at: IF0,
  },
  {
    from: `${ADMITTER}/binding_test.go: network interface has only binding method`,
    interfaces: [iface("foo", "bridge")],
    networks: [pod("foo")],
    kubevirt: "accept",
  },
  {
    from: `${ADMITTER}/binding_test.go: Validating core binding / should reject a masquerade interface on a network different than pod`,
    interfaces: [masq({ ports: [{ name: "test" }] })],
    networks: [multus("default", "test")],
    kubevirt: "deny",
    at: IF0,
  },
  {
    from: `${ADMITTER}/binding_test.go: Validating core binding / should reject a masquerade interface with a specified reserved MAC address`,
    interfaces: [masq({ macAddress: "02:00:00:00:00:00" })],
    networks: [pod()],
    kubevirt: "deny",
    at: `${IF0}.macAddress`,
  },
  {
    from: `${ADMITTER}/binding_test.go: Validating core binding / should reject a bridge interface on a pod network when it is not permitted`,
    interfaces: [iface("default", "bridge")],
    networks: [pod()],
    kubevirt: "accept",
    defaults: GATE_BRIDGE,
  },
  ...[
    ["slirp", "SLIRP binding"],
    ["passt", "Discontinued Passt binding"],
    ["macvtap", "Discontinued macvtap binding"],
  ].map(
    ([binding, test]): KubeVirtCase => ({
      from: `${ADMITTER}/discontinued_test.go: Validate discontinued bindings should be rejected / ${test}`,
      interfaces: [iface("default", binding)],
      networks: [pod()],
      kubevirt: "deny",
      at: `${IF0}.${binding}`,
    }),
  ),
  {
    from: "virt-api/webhooks/validating-webhook/admitters/vms-admitter.go (no test): discontinued bindings are checked on create only",
    interfaces: [masq({ slirp: {} })],
    networks: [pod()],
    update: true,
    kubevirt: "accept",
  },
  {
    from: `${ADMITTER}/passt_test.go: should reject networks with a multus network source and passtBinding interface`,
    interfaces: [iface("default", "passtBinding")],
    networks: [multus("default", "test")],
    kubevirt: "deny",
    at: IF0,
  },
  {
    from: `${ADMITTER}/passt_test.go: should reject networks with a passtBinding interface and passtBinding feature gate disabled`,
    interfaces: [iface("default", "passtBinding")],
    networks: [pod()],
    kubevirt: "accept",
    defaults: GATE_PASST,
  },
  {
    from: `${ADMITTER}/passt_test.go: should accept networks with a pod network source and passtBinding interface`,
    interfaces: [iface("default", "passtBinding")],
    networks: [pod()],
    kubevirt: "accept",
  },
];

const NETIFACE = `${ADMITTER}/netiface_test.go: Validating VMI network spec`;

const ifaceCases: KubeVirtCase[] = [
  {
    from: `${NETIFACE} / should reject network with missing interface`,
    interfaces: [],
    networks: [pod("not-the-default")],
    kubevirt: "deny",
    at: "networks[0].name",
  },
  {
    from: `${NETIFACE} / should reject interface with missing network`,
    interfaces: [iface("default", "bridge")],
    networks: [],
    kubevirt: "deny",
    at: `${IF0}.name`,
  },
  {
    from: `${NETIFACE} / should reject networks with duplicate names`,
    interfaces: [iface("default", "bridge")],
    networks: [pod(), multus("default", "test")],
    kubevirt: "deny",
    at: "networks[1].name",
  },
  {
    from: `${NETIFACE} / should reject interfaces with duplicate names`,
    interfaces: [iface("default", "bridge"), iface("default", "bridge")],
    networks: [pod(), multus("default", "test")],
    kubevirt: "deny",
    at: "domain.devices.interfaces[1].name",
  },
  {
    from: `${NETIFACE} / should reject interface named with unsupported characters`,
    interfaces: [masq({}, "bad.name")],
    networks: [pod("bad.name")],
    kubevirt: "deny",
    at: `${IF0}.name`,
  },
  {
    from: `${NETIFACE} / should reject invalid interface model`,
    interfaces: [masq({ model: "invalid_model" })],
    networks: [pod()],
    kubevirt: "deny",
    at: `${IF0}.model`,
  },
  {
    from: `${NETIFACE} / should accept valid interface model`,
    interfaces: [masq({ model: "virtio" })],
    networks: [pod()],
    kubevirt: "accept",
  },
  ...[
    ["de:ad:00:00:be", "too short address"],
    ["de-ad-00-00-be", "too short address with '-'"],
    ["de:ad:00:00:be:af:be:af", "too long address"],
  ].map(
    ([macAddress, test]): KubeVirtCase => ({
      from: `${NETIFACE} / should reject invalid MAC addresses / ${test}`,
      interfaces: [masq({ macAddress })],
      networks: [pod()],
      kubevirt: "deny",
      at: `${IF0}.macAddress`,
    }),
  ),
  ...[
    ["de:ad:00:00:be:af", "valid address in lowercase and colon separated"],
    ["DE:AD:00:00:BE:AF", "valid address in uppercase and colon separated"],
    ["de-ad-00-00-be-af", "valid address in lowercase and dash separated"],
    ["DE-AD-00-00-BE-AF", "valid address in uppercase and dash separated"],
  ].map(
    ([macAddress, test]): KubeVirtCase => ({
      from: `${NETIFACE} / should accept valid MAC addresses / ${test}`,
      interfaces: [masq({ macAddress })],
      networks: [pod()],
      kubevirt: "accept",
    }),
  ),
  ...[
    ["0000:80.10.1", "too many dots"],
    ["0000:80:80:1.0", "too many parts'-'"],
    ["0000:80:11.15", "function out of range"],
  ].map(
    ([pciAddress, test]): KubeVirtCase => ({
      from: `${NETIFACE} / should reject invalid PCI addresses / ${test}`,
      interfaces: [masq({ pciAddress })],
      networks: [pod()],
      kubevirt: "deny",
      at: `${IF0}.pciAddress`,
    }),
  ),
  ...[
    ["0000:81:11.1", "valid address A"],
    ["0001:02:00.0", "valid address B"],
  ].map(
    ([pciAddress, test]): KubeVirtCase => ({
      from: `${NETIFACE} / should accept valid PCI address / ${test}`,
      interfaces: [masq({ pciAddress })],
      networks: [pod()],
      kubevirt: "accept",
    }),
  ),
];

const PORTS = `${NETIFACE} / the interface port is specified`;
const RANGES = `${NETIFACE} / the interface portRanges is specified`;
const DHCP = `${NETIFACE} / the interface DHCP options is specified`;

const portCases: KubeVirtCase[] = [
  ...(
    [
      [[{ name: "test" }], "only the port name", "ports[0].port"],
      [[{ protocol: "bad", port: 80 }], "bad protocol type", "ports[0].protocol"],
      [[{ port: 80000 }], "port out of range", "ports[0].port"],
      [
        [
          { name: "testport", port: 80 },
          { name: "testport", protocol: "UDP", port: 80 },
        ],
        "two ports that have the same name",
        "ports[1].name",
      ],
      [[{ name: "Test", port: 80 }], "bad port name", "ports[0].name"],
    ] as [Obj[], string, string][]
  ).map(
    ([ports, test, at]): KubeVirtCase => ({
      from: `${PORTS} / should reject interface port with / ${test}`,
      interfaces: [masq({ ports })],
      networks: [pod()],
      kubevirt: "deny",
      at: `${IF0}.${at}`,
    }),
  ),
  ...(
    [
      [[{ port: 80 }], "single minimal port"],
      [[{ port: 80 }, { protocol: "UDP", port: 80 }], "multiple ports, same number, with protocol and without"],
      [[{ port: 80 }, { protocol: "UDP", port: 80 }, { protocol: "TCP", port: 80 }], "multiple ports, same number, different protocols"],
    ] as [Obj[], string][]
  ).map(
    ([ports, test]): KubeVirtCase => ({
      from: `${PORTS} / should accept interface with / ${test}`,
      interfaces: [masq({ ports })],
      networks: [pod()],
      kubevirt: "accept",
    }),
  ),
  {
    from: `${RANGES} / should reject portRanges when feature gate is disabled`,
    interfaces: [masq({ portRanges: [{ start: 80, end: 90 }] })],
    networks: [pod()],
    kubevirt: "deny",
    at: IF0,
  },
  {
    from: `${RANGES} / should reject when binding method is not masquerade`,
    interfaces: [iface("default", "bridge", { portRanges: [{ protocol: "TCP", start: 80, end: 90 }] })],
    networks: [pod()],
    kubevirt: "deny",
    at: IF0,
    defaults: `${GATE_PORT_RANGES}: refused for the gate instead`,
  },
  {
    from: `${RANGES} / should reject when portRanges and ports are both set`,
    interfaces: [masq({ ports: [{ port: 22 }], portRanges: [{ protocol: "TCP", start: 80, end: 90 }] })],
    networks: [pod()],
    kubevirt: "deny",
    at: IF0,
    defaults: `${GATE_PORT_RANGES}: refused for the gate instead`,
  },
  ...(
    [
      [[{ protocol: "SCTP", start: 80, end: 90 }], "bad protocol"],
      [[{ protocol: "TCP", start: 0, end: 100 }], "start port out of range"],
      [[{ protocol: "TCP", start: 80, end: 70000 }], "end port out of range"],
      [[{ protocol: "TCP", start: 100, end: 80 }], "start greater than end"],
      [
        [
          { protocol: "TCP", start: 80, end: 200 },
          { protocol: "TCP", start: 150, end: 300 },
        ],
        "two TCP ranges overlapping",
      ],
    ] as [Obj[], string][]
  ).map(
    ([portRanges, test]): KubeVirtCase => ({
      from: `${RANGES} / should reject portRanges with / ${test}`,
      interfaces: [masq({ portRanges })],
      networks: [pod()],
      kubevirt: "deny",
      at: IF0,
      defaults: `${GATE_PORT_RANGES}: refused for the gate instead`,
    }),
  ),
  ...(
    [
      [[{ protocol: "TCP", start: 80, end: 90 }], "single range"],
      [[{ protocol: "TCP", start: 22, end: 22 }], "single port (start == end)"],
      [
        [
          { protocol: "TCP", start: 80, end: 100 },
          { protocol: "TCP", start: 200, end: 300 },
        ],
        "two non-overlapping TCP ranges",
      ],
      [
        [
          { protocol: "TCP", start: 80, end: 200 },
          { protocol: "UDP", start: 150, end: 300 },
        ],
        "TCP and UDP ranges that overlap (allowed)",
      ],
    ] as [Obj[], string][]
  ).map(
    ([portRanges, test]): KubeVirtCase => ({
      from: `${RANGES} / should accept portRanges with / ${test}`,
      interfaces: [masq({ portRanges })],
      networks: [pod()],
      kubevirt: "deny",
      at: IF0,
      defaults: `${GATE_PORT_RANGES}: the test accepts, the default configuration refuses`,
    }),
  ),
  ...(
    [
      [{ privateOptions: [{ option: 223, value: "extra.options.kubevirt.io" }] }, "invalid DHCPPrivateOptions", "dhcpOptions"],
      [
        {
          privateOptions: [
            { option: 240, value: "extra.options.kubevirt.io" },
            { option: 240, value: "sameextra.options.kubevirt.io" },
          ],
        },
        "duplicate DHCPPrivateOptions",
        "dhcpOptions",
      ],
      [{ ntpServers: ["::1", "hostname"] }, "non-IPv4 NTP servers", "dhcpOptions.ntpServers[0]"],
    ] as [Obj, string, string][]
  ).map(
    ([dhcpOptions, test, at]): KubeVirtCase => ({
      from: `${DHCP} / should reject interface DHCP options with / ${test}`,
      interfaces: [masq({ dhcpOptions })],
      networks: [pod()],
      kubevirt: "deny",
      at: `${IF0}.${at}`,
    }),
  ),
  ...(
    [
      [{ privateOptions: [{ option: 240, value: "extra.options.kubevirt.io" }] }, "valid DHCPPrivateOptions"],
      [{ ntpServers: ["127.0.0.1", "127.0.0.2"] }, "valid NTP servers"],
      [
        {
          privateOptions: [
            { option: 240, value: "extra.options.kubevirt.io" },
            { option: 241, value: "extra.options.kubevirt.io" },
          ],
        },
        "unique DHCPPrivateOptions",
      ],
    ] as [Obj, string][]
  ).map(
    ([dhcpOptions, test]): KubeVirtCase => ({
      from: `${DHCP} / should accept interface DHCP options with / ${test}`,
      interfaces: [masq({ dhcpOptions })],
      networks: [pod()],
      kubevirt: "accept",
    }),
  ),
];

const NETSOURCE = `${ADMITTER}/netsource_test.go: Validate network source`;
const DRA = `${ADMITTER}/dra_test.go: Validate network DRA`;
const draNetwork = (extra: Obj = {}): Obj => ({ name: "dra-net", resourceClaim: { claimName: "claim1", requestName: "vf" }, ...extra });
const draSpec = { resourceClaims: [{ name: "claim1", resourceClaimName: "claim1" }] };

const sourceCases: KubeVirtCase[] = [
  {
    from: `${NETSOURCE} / support only a single pod network`,
    interfaces: [iface("default", "bridge"), iface("default2", "bridge")],
    networks: [pod(), pod("default2")],
    kubevirt: "deny",
    at: "networks[1]",
  },
  {
    from: `${NETSOURCE} / should reject when multiple types defined for a CNI network`,
    interfaces: [iface("default", "bridge")],
    networks: [{ name: "default", pod: {}, multus: { networkName: "default1" } }],
    kubevirt: "deny",
    at: "networks[0]",
  },
  {
    from: `${NETSOURCE} / when network source is not configured`,
    interfaces: [iface("testnet1", "bridge")],
    networks: [{ name: "testnet1" }],
    kubevirt: "deny",
    at: "networks[0]",
  },
  {
    from: `${NETSOURCE} / should accept resourceClaim network type`,
    interfaces: [iface("sriov-dra", "sriov")],
    networks: [{ name: "sriov-dra", resourceClaim: { claimName: "claim1", requestName: "request1" } }],
    spec: draSpec,
    kubevirt: "deny",
    at: "networks[0]",
    defaults: GATE_DRA,
  },
  ...(
    [
      [{ pod: {} }, "pod network"],
      [{ multus: { networkName: "default1" } }, "multus network"],
    ] as [Obj, string][]
  ).map(
    ([source, test]): KubeVirtCase => ({
      from: `${NETSOURCE} / should reject when resourceClaim is combined with another network type / ${test}`,
      interfaces: [iface("default", "sriov")],
      networks: [{ name: "default", resourceClaim: { claimName: "claim1", requestName: "request1" }, ...source }],
      spec: draSpec,
      kubevirt: "deny",
      at: "networks[0]",
    }),
  ),
  {
    from: `${NETSOURCE} / should reject multus network source without networkName`,
    interfaces: [iface("default", "bridge")],
    networks: [{ name: "default", multus: {} }],
    kubevirt: "deny",
    at: "networks[0]",
  },
  {
    from: `${NETSOURCE} / should reject multiple multus networks with a multus default`,
    interfaces: [iface("multus1", "bridge"), iface("multus2", "bridge")],
    networks: [multus("multus1", "multus-net1", { default: true }), multus("multus2", "multus-net2", { default: true })],
    kubevirt: "deny",
    at: "networks",
  },
  {
    from: `${NETSOURCE} / should reject pod network with a multus default`,
    interfaces: [iface("default", "bridge"), iface("defaultmultus", "bridge")],
    networks: [pod(), multus("defaultmultus", "multus-net1", { default: true })],
    kubevirt: "deny",
    at: "networks",
  },
  {
    from: `${NETSOURCE} / should allow single multus network with a multus default`,
    interfaces: [iface("multus1", "bridge")],
    networks: [multus("multus1", "multus-net1", { default: true })],
    kubevirt: "accept",
  },
  {
    from: `${NETSOURCE} / should accept networks with a multus network source and bridge interface`,
    interfaces: [iface("default", "bridge")],
    networks: [multus("default", "default")],
    kubevirt: "accept",
  },
  {
    from: `${NETSOURCE} / should allow primary network and multiple secondary networks`,
    interfaces: [iface("default", "bridge"), iface("multus1", "bridge"), iface("multus2", "bridge")],
    networks: [pod(), multus("multus1", "multus-net1"), multus("multus2", "multus-net2")],
    kubevirt: "accept",
  },
  {
    from: `${DRA} / should reject DRA network when feature gate is disabled`,
    interfaces: [iface("dra-net", "sriov")],
    networks: [draNetwork()],
    spec: draSpec,
    kubevirt: "deny",
    at: "networks",
  },
  {
    from: `${DRA} / should accept valid DRA network when feature gate is enabled`,
    interfaces: [iface("dra-net", "sriov")],
    networks: [draNetwork()],
    spec: draSpec,
    kubevirt: "deny",
    at: "networks",
    defaults: GATE_DRA,
  },
  {
    from: `${DRA} / should reject mixing Multus and DRA networks`,
    interfaces: [iface("dra-net", "sriov"), iface("secondary", "bridge")],
    networks: [draNetwork(), multus("secondary", "net")],
    spec: draSpec,
    kubevirt: "deny",
    at: "networks",
  },
];

const CREATE = "virt-api/webhooks/validating-webhook/admitters/vmi-create-admitter_test.go";
const bootIface = (bootOrder: number): Obj => masq({ bootOrder }, "testnet");
const disk = (bootOrder: number): Obj => ({ name: "testdisk", bootOrder, serial: "SN-1_a", disk: {} });
const probes = {
  readinessProbe: { initialDelaySeconds: 2, tcpSocket: { host: "lal", port: 80 } },
  livenessProbe: { initialDelaySeconds: 2, httpGet: { host: "test", port: 80 } },
};

const createCases: KubeVirtCase[] = [
  {
    from: `${CREATE}: additional tests / should work when boot order is given to interfaces`,
    interfaces: [bootIface(1)],
    networks: [pod("testnet")],
    kubevirt: "accept",
  },
  {
    from: `${CREATE}: additional tests / should fail when invalid boot order is given to interface`,
    interfaces: [bootIface(0)],
    networks: [pod("testnet")],
    kubevirt: "deny",
    at: `${IF0}.bootOrder`,
  },
  {
    from: `${CREATE}: additional tests / should work when different boot orders are given to devices`,
    interfaces: [bootIface(7)],
    networks: [pod("testnet")],
    devices: { disks: [disk(77)] },
    kubevirt: "accept",
  },
  {
    from: `${CREATE}: additional tests / should fail when same boot order is given to more than one device`,
    interfaces: [bootIface(7)],
    networks: [pod("testnet")],
    devices: { disks: [disk(7)] },
    kubevirt: "deny",
    at: `${IF0}.bootOrder`,
  },
  {
    from: `${CREATE}: with probes given / should accept properly configured readiness and liveness probes`,
    interfaces: [iface("default", "bridge")],
    networks: [pod()],
    spec: probes,
    kubevirt: "accept",
  },
  {
    from: `${CREATE}: with probes given / should reject properly configured network-based readiness and liveness probes if no Pod Network is present`,
    devices: { autoattachPodInterface: false },
    spec: probes,
    kubevirt: "deny",
    at: "readinessProbe",
  },
  {
    from: `${CREATE}: should accept valid vmi spec on create (no interfaces: KubeVirt adds a bridge NIC on the pod network)`,
    kubevirt: "accept",
  },
];

/** Every test case of KubeVirt's network admitters, with KubeVirt's verdict under default gates. */
export const KUBEVIRT_TEST_CASES: KubeVirtCase[] = [
  ...stateCases,
  ...bindingCases,
  ...ifaceCases,
  ...portCases,
  ...sourceCases,
  ...createCases,
];

const UG = "user-guide docs/network";

/** The VM and VMI manifests of the KubeVirt user guide's network pages (their network parts). */
export const USER_GUIDE_VMS: KubeVirtCase[] = [
  { from: `${UG}/interfaces_and_networks.md:43`, interfaces: [masq()], networks: [pod()], kubevirt: "accept" },
  {
    from: `${UG}/interfaces_and_networks.md:102`,
    interfaces: [masq(), iface("bridge-net", "bridge")],
    networks: [pod(), multus("bridge-net", "linux-bridge-net-ipam")],
    kubevirt: "accept",
  },
  {
    from: `${UG}/interfaces_and_networks.md:189 (Multus default network)`,
    interfaces: [iface("test1", "bridge")],
    networks: [multus("test1", "bridge-test", { default: true })],
    kubevirt: "accept",
  },
  {
    from: `${UG}/interfaces_and_networks.md:240 (e1000 model, named port)`,
    interfaces: [masq({ model: "e1000", ports: [{ name: "http", port: 80 }] })],
    networks: [pod()],
    kubevirt: "accept",
  },
  {
    from: `${UG}/interfaces_and_networks.md:325 (autoattachPodInterface: false)`,
    devices: { autoattachPodInterface: false },
    kubevirt: "accept",
  },
  {
    from: `${UG}/interfaces_and_networks.md:349`,
    interfaces: [iface("red", "bridge")],
    networks: [multus("red", "red")],
    kubevirt: "accept",
  },
  {
    from: `${UG}/interfaces_and_networks.md:418`,
    interfaces: [masq({ ports: [{ port: 80 }] }, "red")],
    networks: [pod("red")],
    kubevirt: "accept",
  },
  { from: `${UG}/interfaces_and_networks.md:455`, interfaces: [masq({}, "red")], networks: [pod("red")], kubevirt: "accept" },
  {
    from: `${UG}/interfaces_and_networks.md:532 (SR-IOV)`,
    interfaces: [masq(), iface("sriov-net", "sriov")],
    networks: [pod(), multus("sriov-net", "default/sriov-net")],
    kubevirt: "accept",
  },
  {
    from: `${UG}/interfaces_and_networks.md:620 (vm-net-binding-passt, core passtBinding)`,
    interfaces: [iface("passtnet", "passtBinding", { ports: [{ name: "http", port: 80, protocol: "TCP" }] })],
    networks: [pod("passtnet")],
    kubevirt: "accept",
  },
  {
    from: `${UG}/interfaces_and_networks.md:657 (link state down)`,
    interfaces: [masq({ state: "down" })],
    networks: [pod()],
    kubevirt: "accept",
  },
  {
    from: `${UG}/interfaces_and_networks.md:826 (networkInterfaceMultiqueue)`,
    devices: { networkInterfaceMultiqueue: true },
    kubevirt: "accept",
  },
  {
    from: `${UG}/net_binding_plugins/passt.md:223 (passt binding plugin)`,
    interfaces: [{ name: "passtnet", binding: { name: "passt" }, ports: [{ name: "http", port: 80, protocol: "TCP" }] }],
    networks: [pod("passtnet")],
    kubevirt: "accept",
  },
  {
    from: `${UG}/net_binding_plugins/macvtap.md:164 (macvtap binding plugin)`,
    interfaces: [masq({}, "podnet"), { name: "hostnetwork", binding: { name: "macvtap" } }],
    networks: [pod("podnet"), multus("hostnetwork", "macvtapnetwork")],
    kubevirt: "accept",
  },
  {
    from: `${UG}/net_binding_plugins/slirp.md:59 (slirp binding plugin)`,
    interfaces: [{ name: "slirpnet", binding: { name: "slirp" } }],
    networks: [pod("slirpnet")],
    kubevirt: "accept",
  },
  {
    from: `${UG}/network_binding_plugins.md:261`,
    interfaces: [{ name: "passtnet", binding: { name: "passt" } }],
    networks: [pod("passtnet")],
    kubevirt: "accept",
  },
  { from: `${UG}/istio_service_mesh.md:35`, interfaces: [masq()], networks: [pod()], kubevirt: "accept" },
  { from: `${UG}/dns.md:17 (no networks)`, kubevirt: "accept" },
  { from: `${UG}/service_objects.md:20 (no networks)`, kubevirt: "accept" },
  {
    from: `${UG}/hotplug/interfaces.md:37`,
    interfaces: [masq({}, "defaultnetwork")],
    networks: [pod("defaultnetwork")],
    kubevirt: "accept",
  },
  {
    from: `${UG}/hotplug/interfaces.md:92 (hotplugged bridge NIC)`,
    interfaces: [masq({}, "defaultnetwork"), iface("dyniface1", "bridge")],
    networks: [pod("defaultnetwork"), multus("dyniface1", "new-fancy-net")],
    kubevirt: "accept",
  },
  {
    from: `${UG}/hotplug/interfaces.md:128 (unplug: state absent)`,
    interfaces: [masq({}, "defaultnetwork"), iface("dyniface1", "bridge", { state: "absent" })],
    networks: [pod("defaultnetwork"), multus("dyniface1", "new-fancy-net")],
    update: true,
    kubevirt: "accept",
  },
  {
    from: `${UG}/hotplug/nad_reference.md:57`,
    interfaces: [iface("bridge-net", "bridge")],
    networks: [multus("bridge-net", "nad-with-vlan10")],
    kubevirt: "accept",
  },
];

export interface NadCase {
  from: string;
  config: Obj;
}

const OVS = "ovs-cni v0.39.0";

/** NAD configs from the KubeVirt user guide and ovs-cni's docs; every one must be accepted. */
export const DOC_NADS: NadCase[] = [
  { from: `${UG}/istio_service_mesh.md:24`, config: { cniVersion: "0.3.1", name: "istio-cni", type: "istio-cni" } },
  {
    from: `${UG}/net_binding_plugins/passt.md:142`,
    config: { cniVersion: "1.0.0", name: "netbindingpasst", plugins: [{ type: "kubevirt-passt-binding" }] },
  },
  { from: `${UG}/net_binding_plugins/macvtap.md:101`, config: { cniVersion: "0.3.1", name: "macvtapnetwork", type: "macvtap", mtu: 1500 } },
  {
    from: `${UG}/interfaces_and_networks.md:78`,
    config: {
      cniVersion: "0.3.1",
      name: "mynet",
      plugins: [{ type: "bridge", bridge: "br10", disableContainerInterface: true, macspoofchk: true }],
    },
  },
  {
    from: `${UG}/interfaces_and_networks.md:169`,
    config: {
      cniVersion: "0.3.1",
      name: "bridge-test",
      type: "bridge",
      bridge: "br1",
      ipam: { type: "host-local", subnet: "10.250.250.0/24" },
    },
  },
  {
    from: `${UG}/interfaces_and_networks.md:271`,
    config: {
      cniVersion: "0.3.1",
      name: "ptp-mac",
      plugins: [{ type: "ptp", ipam: { type: "host-local", subnet: "10.1.1.0/24" } }, { type: "tuning" }],
    },
  },
  {
    from: `${UG}/interfaces_and_networks.md:745`,
    config: {
      cniVersion: "0.3.1",
      name: "br-spoof-check",
      type: "bridge",
      bridge: "br10",
      disableContainerInterface: true,
      macspoofchk: true,
    },
  },
  {
    from: `${UG}/hotplug/nad_reference.md:24`,
    config: { cniVersion: "0.3.1", name: "nad-with-vlan10", type: "bridge", bridge: "br1", vlan: 10 },
  },
  { from: `${UG}/hotplug/interfaces.md:72`, config: { cniVersion: "0.3.1", type: "bridge", mtu: 1300, name: "new-fancy-net" } },
  { from: `${OVS} README.md:14`, config: { cniVersion: "0.4.0", type: "ovs", bridge: "br1", vlan: 100 } },
  { from: `${OVS} docs/cni-plugin.md:18`, config: { name: "mynet", type: "ovs", bridge: "mynet0", vlan: 100 } },
  {
    from: `${OVS} docs/cni-plugin.md:29 (trunk, jumbo frames)`,
    config: { name: "mytrunknet", type: "ovs", bridge: "mynet1", mtu: 9000, trunk: [{ id: 42 }, { minID: 1000, maxID: 1010 }] },
  },
  { from: `${OVS} docs/cni-plugin.md:41`, config: { name: "overlaynet", type: "ovs", bridge: "mynet1", interface_type: "system" } },
  {
    from: `${OVS} docs/cni-plugin.md:53 (bridge omitted when deviceID is set, hardware offload)`,
    config: { cniVersion: "0.4.0", name: "offload", type: "ovs", deviceID: "0000:03:00.2", vlan: 100 },
  },
  {
    from: `${OVS} docs/cni-plugin.md:53 (bridge omitted when ovnPort is given, here as args.cni)`,
    config: { cniVersion: "0.4.0", name: "ovn", type: "ovs", args: { cni: { ovnPort: "lsp-1" } } },
  },
  { from: `${OVS} docs/demo.md:92`, config: { cniVersion: "0.4.0", type: "ovs", bridge: "br1" } },
  {
    from: `${OVS} docs/ovs-offload.md:113`,
    config: { cniVersion: "0.4.0", type: "ovs", bridge: "br-snic0", trunk: [{ minID: 1050, maxID: 1059 }] },
  },
  {
    from: `${OVS} docs/traffic-mirroring.md:80`,
    config: {
      cniVersion: "0.4.0",
      plugins: [
        { type: "ovs", bridge: "br1", vlan: 100 },
        { type: "ovs-mirror-producer", bridge: "br1", mirrors: [{ name: "mirror-1", ingress: true, egress: true }] },
      ],
    },
  },
  {
    from: `${OVS} docs/traffic-mirroring.md:115`,
    config: {
      cniVersion: "0.4.0",
      plugins: [
        { type: "ovs", bridge: "br1" },
        { type: "ovs-mirror-consumer", bridge: "br1", mirrors: [{ name: "mirror-1" }] },
      ],
    },
  },
  {
    from: `${OVS} docs/vdpa.md:107`,
    config: {
      cniVersion: "4.0.0",
      name: "ovs-vdpa-net",
      type: "ovs",
      capabilities: { CNIDeviceInfoFile: true },
      bridge: "br-vdpa",
      ipam: {},
    },
  },
];
