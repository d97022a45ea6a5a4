// KubeVirt v1.9.0's network admission at the edges of each range, through the public verdict only
// (denials and warnings by field path). Oracles from KubeVirt and Kubernetes, not from our code:
// ports 1-65535 with protocol TCP or UDP and an IANA service name (Kubernetes IsValidPortName:
// at most 15 of [-a-z0-9], a letter, no "--", no "-" at an end); DHCP private options 224-254, each
// once, NTP servers by IPv4 address (Go's To4, so IPv4-mapped IPv6 counts); boot order an integer
// >= 1, one device per position (disks included); interface state up, down or absent, absent only
// on a secondary bridge NIC, up/down not on SR-IOV; PCI address dddd:bb:ss.f with function 0-7;
// MAC in Go's net.ParseMAC 48-bit forms; network probes need a pod network (autoattach counts);
// binding plugins registered in the KubeVirt CR.
import assert from "node:assert/strict";
import { interfaceProblems, kubevirtNetworkVerdict } from "../../../capabilities/domain/kubevirt-rules";
import type { ValidationResult } from "../../../capabilities/domain/findings";

type Obj = Record<string, unknown>;
const T = "spec.template.spec";
const IF0 = `${T}.domain.devices.interfaces[0]`;
const IF1 = `${T}.domain.devices.interfaces[1]`;

function vmOf(interfaces: Obj[] | undefined, networks: Obj[] | undefined, spec: Obj = {}, devices: Obj = {}): Obj {
  return {
    metadata: { name: "vm", namespace: "tenant-a" },
    spec: {
      template: {
        spec: { domain: { devices: { ...devices, ...(interfaces ? { interfaces } : {}) } }, ...(networks ? { networks } : {}), ...spec },
      },
    },
  };
}
/** One masquerade NIC on the pod network, with `extra` fields. */
const onPod = (extra: Obj, opts = { creating: true }): ValidationResult =>
  kubevirtNetworkVerdict(vmOf([{ name: "default", masquerade: {}, ...extra }], [{ name: "default", pod: {} }]), opts);
/** The pod NIC and a bridge NIC on a Multus network, the second with `extra` fields. */
const withSecondary = (extra: Obj, first: Obj = {}): ValidationResult =>
  kubevirtNetworkVerdict(
    vmOf(
      [
        { name: "default", masquerade: {}, ...first },
        { name: "ovs1", bridge: {}, ...extra },
      ],
      [
        { name: "default", pod: {} },
        { name: "ovs1", multus: { networkName: "tenant-a/vlan100" } },
      ],
    ),
  );
const denied = (r: ValidationResult): string[] => r.denials.map(d => d.field);
const warned = (r: ValidationResult): string[] => r.warnings.map(d => d.field);
const clean = (r: ValidationResult, what: string): void =>
  assert.deepEqual(r, { denials: [], warnings: [] }, `${what}: ${JSON.stringify(r)}`);

describe("KubeVirt network admission at the edges (kubevirtNetworkVerdict)", () => {
  it("ports: 1 to 65535, integers, a port is required", () => {
    for (const port of [1, 80, 65535]) clean(onPod({ ports: [{ port }] }), `port ${port}`);
    for (const port of [0, -1, 65536, 1.5, "80"])
      assert.deepEqual(denied(onPod({ ports: [{ port }] })), [`${IF0}.ports[0].port`], `port ${port}`);
    assert.deepEqual(denied(onPod({ ports: [{ name: "http" }] })), [`${IF0}.ports[0].port`]);
    assert.deepEqual(denied(onPod({ ports: [{ port: 80 }, "http"] })), [`${IF0}.ports[1]`]);
    assert.deepEqual(denied(onPod({ ports: { port: 80 } })), [`${IF0}.ports`]);
  });

  it("ports: protocol TCP or UDP in upper case, or none", () => {
    for (const protocol of ["TCP", "UDP", "", null]) clean(onPod({ ports: [{ port: 80, protocol }] }), `protocol ${protocol}`);
    for (const protocol of ["tcp", "SCTP", 6])
      assert.deepEqual(denied(onPod({ ports: [{ port: 80, protocol }] })), [`${IF0}.ports[0].protocol`], `protocol ${protocol}`);
  });

  it("ports: IANA service names, each once", () => {
    for (const name of ["http", "a", "abcdefghijklmno", "web-1", "1a"]) clean(onPod({ ports: [{ port: 80, name }] }), name);
    for (const name of ["abcdefghijklmnop", "a--b", "-ab", "ab-", "123", "Http", "we_b", 5])
      assert.deepEqual(denied(onPod({ ports: [{ port: 80, name }] })), [`${IF0}.ports[0].name`], String(name));
    assert.deepEqual(
      denied(
        onPod({
          ports: [
            { port: 80, name: "web" },
            { port: 81, name: "ssh" },
            { port: 82, name: "web" },
          ],
        }),
      ),
      [`${IF0}.ports[2].name`],
    );
  });

  it("ports off the pod network only warn that they do nothing; portRanges needs an off gate", () => {
    const r = withSecondary({ ports: [{ port: 80 }] });
    assert.deepEqual(denied(r), []);
    assert.deepEqual(warned(r), [`${IF1}.ports`]);
    clean(withSecondary({ ports: [] }), "no ports");
    assert.deepEqual(denied(onPod({ portRanges: [{ start: 80, end: 90 }] })), [`${IF0}.portRanges`]);
  });

  it("DHCP private options 224 to 254, integers, each once", () => {
    const opts = (...option: unknown[]): ValidationResult =>
      onPod({ dhcpOptions: { privateOptions: option.map(o => ({ option: o, value: "x" })) } });
    clean(opts(224, 254), "224 and 254");
    for (const o of [223, 255, 240.5, "240"]) assert.deepEqual(denied(opts(o)), [`${IF0}.dhcpOptions.privateOptions[0].option`], String(o));
    assert.deepEqual(denied(opts(230, 231, 230)), [`${IF0}.dhcpOptions.privateOptions[2].option`]);
    assert.deepEqual(denied(onPod({ dhcpOptions: { privateOptions: { option: 230 } } })), [`${IF0}.dhcpOptions.privateOptions`]);
    assert.deepEqual(denied(onPod({ dhcpOptions: "ntp" })), [`${IF0}.dhcpOptions`]);
  });

  it("DHCP NTP servers by IPv4 address, an IPv4-mapped IPv6 address included", () => {
    clean(onPod({ dhcpOptions: { ntpServers: ["10.0.0.5", "::ffff:10.0.0.6"] } }), "IPv4");
    assert.deepEqual(denied(onPod({ dhcpOptions: { ntpServers: ["10.0.0.5", "fd00::5", "ntp.example"] } })), [
      `${IF0}.dhcpOptions.ntpServers[1]`,
      `${IF0}.dhcpOptions.ntpServers[2]`,
    ]);
  });

  it("boot order: an integer from 1, one device per position, disks included", () => {
    clean(onPod({ bootOrder: 1 }), "bootOrder 1");
    for (const bootOrder of [0, -2, 1.5, "1"]) assert.deepEqual(denied(onPod({ bootOrder })), [`${IF0}.bootOrder`], String(bootOrder));
    const withDisk = kubevirtNetworkVerdict(
      vmOf(
        [{ name: "default", masquerade: {}, bootOrder: 2 }],
        [{ name: "default", pod: {} }],
        {},
        { disks: [{ name: "root", bootOrder: 2 }] },
      ),
    );
    assert.deepEqual(denied(withDisk), [`${IF0}.bootOrder`]);
    assert.match(withDisk.denials[0].message, /already taken by spec\.template\.spec\.domain\.devices\.disks\[0\]/);
    assert.deepEqual(denied(withSecondary({ bootOrder: 3 }, { bootOrder: 3 })), [`${IF1}.bootOrder`]);
    clean(withSecondary({ bootOrder: 4 }, { bootOrder: 3 }), "3 and 4");
  });

  it("interface state: up, down or absent; absent only on a secondary bridge NIC; not up/down on SR-IOV", () => {
    for (const state of ["up", "down", "absent", ""]) clean(withSecondary({ state }), `state ${state}`);
    for (const state of ["UP", "removed", 1]) assert.deepEqual(denied(withSecondary({ state })), [`${IF1}.state`], String(state));
    assert.deepEqual(denied(onPod({ state: "absent" })), [`${IF0}.state`, `${IF0}.state`]); // not bridge, and the default network
    const bridgeOnPod = kubevirtNetworkVerdict(vmOf([{ name: "default", bridge: {}, state: "absent" }], [{ name: "default", pod: {} }]));
    assert.deepEqual(denied(bridgeOnPod), [`${T}.domain.devices.interfaces[0].state`]);
    assert.match(bridgeOnPod.denials[0].message, /default network/);
    const sriov = (state: string): ValidationResult =>
      kubevirtNetworkVerdict(vmOf([{ name: "sr", sriov: {}, state }], [{ name: "sr", multus: { networkName: "tenant-a/sriov" } }]));
    for (const state of ["up", "down"]) assert.deepEqual(denied(sriov(state)), [`${IF0}.state`], state);
  });

  it("PCI address: domain:bus:slot.function in hex, function 0 to 7", () => {
    for (const pciAddress of ["0000:81:11.1", "abcd:EF:0a.7", ""]) clean(onPod({ pciAddress }), pciAddress);
    for (const pciAddress of ["0000:81:11.8", "0000:81:11", "000:81:11.1", "0000:81:11.1 ", 5])
      assert.deepEqual(denied(onPod({ pciAddress })), [`${IF0}.pciAddress`], String(pciAddress));
  });

  it("NIC model: one of KubeVirt's models, exactly as spelled", () => {
    for (const model of ["virtio", "e1000e", "rtl8139", ""]) clean(onPod({ model }), model);
    for (const model of ["VIRTIO", "virtio-net", 7]) assert.deepEqual(denied(onPod({ model })), [`${IF0}.model`], String(model));
  });

  it("MAC address: Go's 48-bit forms with one kind of separator", () => {
    for (const macAddress of ["02:00:00:00:00:01", "02-00-00-00-00-01", "0200.0000.0001", "02:AB:cd:00:00:01", ""])
      clean(onPod({ macAddress }), macAddress);
    for (const macAddress of ["02:00-00:00:00:01", "02:00:00:00:00", "02:00:00:00:00:01:02", "0200.0000", "02.00.00.00.00.01", 2])
      assert.deepEqual(denied(onPod({ macAddress })), [`${IF0}.macAddress`], String(macAddress));
  });

  it("network probes need a pod network; KubeVirt's default NIC counts unless autoattach is off", () => {
    const probes = { readinessProbe: { httpGet: { port: 80 } }, livenessProbe: { tcpSocket: { port: 22 }, exec: {} } };
    clean(kubevirtNetworkVerdict(vmOf(undefined, undefined, probes)), "default pod NIC");
    clean(onPod({}, { creating: true }), "no probes");
    assert.deepEqual(denied(kubevirtNetworkVerdict(vmOf(undefined, undefined, probes, { autoattachPodInterface: false }))), [
      `${T}.readinessProbe.httpGet`,
      `${T}.livenessProbe.tcpSocket`,
    ]);
    const multusOnly = kubevirtNetworkVerdict(
      vmOf([{ name: "ovs1", bridge: {} }], [{ name: "ovs1", multus: { networkName: "tenant-a/vlan100" } }], probes),
    );
    assert.deepEqual(denied(multusOnly), [`${T}.readinessProbe.httpGet`, `${T}.livenessProbe.tcpSocket`]);
    const emptyLists = kubevirtNetworkVerdict(vmOf([], [], { readinessProbe: { httpGet: { port: 80 } } }));
    assert.deepEqual(denied(emptyLists), [], "empty lists are defaulted like absent ones");
  });

  it("a binding plugin the KubeVirt CR registers is silent; otherwise a warning says what it registers", () => {
    const plugin = (bindingPlugins?: string[]): ValidationResult =>
      kubevirtNetworkVerdict(
        vmOf([{ name: "mv", binding: { name: "macvtap" } }], [{ name: "mv", multus: { networkName: "tenant-a/mv" } }]),
        {
          creating: true,
          bindingPlugins,
        },
      );
    clean(plugin(["passt", "macvtap"]), "registered");
    assert.deepEqual(warned(plugin(undefined)), [`${IF0}.binding.name`]);
    assert.doesNotMatch(plugin(undefined).warnings[0].message, /it registers/);
    assert.match(plugin(["passt", "sriov"]).warnings[0].message, /\(it registers "passt", "sriov"\)/);
    assert.match(plugin([]).warnings[0].message, /\(it registers none\)/);
  });

  it("a discontinued binding is refused on create, and on update only when nothing else binds", () => {
    const slirp = (extra: Obj, creating: boolean): ValidationResult =>
      kubevirtNetworkVerdict(vmOf([{ name: "default", slirp: {}, ...extra }], [{ name: "default", pod: {} }]), { creating });
    assert.deepEqual(denied(slirp({}, true)), [`${IF0}.slirp`]);
    assert.deepEqual(denied(slirp({}, false)), [`${IF0}.slirp`]);
    assert.deepEqual(denied(slirp({ masquerade: {} }, false)), []);
    assert.deepEqual(denied(slirp({ masquerade: {} }, true)), [`${IF0}.slirp`]);
  });
});

describe("KubeVirt network admission, more shapes (kubevirtNetworkVerdict)", () => {
  it("without options it judges as on create (virt-controller creating the VMI)", () => {
    const v = vmOf([{ name: "default", masquerade: {}, slirp: {} }], [{ name: "default", pod: {} }]);
    assert.deepEqual(denied(kubevirtNetworkVerdict(v)), [`${IF0}.slirp`]);
  });

  it("interfaceProblems keeps the denials of one NIC, its network and the VM-wide ones", () => {
    const v = vmOf(
      [
        { name: "default", masquerade: {}, model: "bogus" },
        { name: "ovs1", bridge: {}, pciAddress: "x" },
      ],
      [
        { name: "default", pod: {} },
        { name: "ovs1", multus: { networkName: "" } },
      ],
      { readinessProbe: { httpGet: {} } },
      { autoattachPodInterface: false },
    );
    const verdict = kubevirtNetworkVerdict(v);
    assert.deepEqual(
      interfaceProblems(verdict, v, "ovs1").map(d => d.field),
      [`${T}.networks[1].multus.networkName`, `${IF1}.pciAddress`],
    );
    assert.deepEqual(
      interfaceProblems(verdict, v, "default").map(d => d.field),
      [`${IF0}.model`],
    );
    assert.deepEqual(
      interfaceProblems(verdict, v, "gone").map(d => d.field),
      [],
    );
    const noPod = vmOf([{ name: "ovs1", bridge: {}, model: "bogus" }], [{ name: "ovs1", multus: { networkName: "tenant-a/vlan100" } }], {
      readinessProbe: { httpGet: {} },
    });
    assert.deepEqual(
      interfaceProblems(kubevirtNetworkVerdict(noPod), noPod, "ovs1").map(d => d.field),
      [`${IF0}.model`, `${T}.readinessProbe.httpGet`],
    );
  });

  it("a Multus source without networkName names no NAD", () => {
    for (const multus of [{}, { networkName: null }]) {
      const r = kubevirtNetworkVerdict(vmOf([{ name: "ovs1", bridge: {} }], [{ name: "ovs1", multus }]));
      assert.deepEqual(denied(r), [`${T}.networks[0].multus.networkName`]);
      assert.match(r.denials[0].message, /^Multus network name "" of network "ovs1" names no NetworkAttachmentDefinition/);
    }
  });

  it("the reserved masquerade MAC is reserved for masquerade NICs only", () => {
    clean(withSecondary({ macAddress: "02:00:00:00:00:00" }), "bridge NIC");
    const r = onPod({ macAddress: "02:00:00:00:00:00" });
    assert.deepEqual(denied(r), [`${IF0}.macAddress`]);
    assert.doesNotMatch(r.denials[0].message, /refuses only the spelling/);
    assert.match(onPod({ macAddress: "02-00-00-00-00-00" }).denials[0].message, /KubeVirt refuses only the spelling 02:00:00:00:00:00/);
  });

  it("a binding that is not an object, or names no plugin, is refused", () => {
    const bind = (binding: unknown): ValidationResult =>
      kubevirtNetworkVerdict(vmOf([{ name: "mv", binding }], [{ name: "mv", multus: { networkName: "tenant-a/mv" } }]));
    assert.deepEqual(denied(bind("macvtap")), [`${IF0}.binding`]);
    for (const binding of [{}, { name: "" }, { name: 5 }])
      assert.deepEqual(denied(bind(binding)), [`${IF0}.binding.name`], JSON.stringify(binding));
    assert.match(bind({ name: "macvtap" }).warnings[0].message, /that plugin in spec\.configuration\.network\.binding; register it there/);
  });

  it("the dotted MAC form is the whole text", () => {
    for (const macAddress of ["zz0200.0000.0001", "0200.0000.0001zz"])
      assert.deepEqual(denied(onPod({ macAddress })), [`${IF0}.macAddress`], macAddress);
  });

  it("say what is wrong: a missing port, lists that are not lists", () => {
    assert.match(onPod({ ports: [{}] }).denials[0].message, /^port is required/);
    assert.match(onPod({ ports: [{ port: null }] }).denials[0].message, /^port is required/);
    assert.deepEqual(denied(onPod({ dhcpOptions: { ntpServers: "10.0.0.5" } })), [`${IF0}.dhcpOptions.ntpServers`]);
    assert.match(onPod({ dhcpOptions: { ntpServers: "10.0.0.5" } }).denials[0].message, /^must be a list, not a string/);
    assert.match(onPod({ dhcpOptions: 5 }).denials[0].message, /^must be an object such as \{ntpServers/);
    assert.match(onPod({ ports: [5] }).denials[0].message, /^must be an object such as \{port: 80, protocol: TCP\}, not a number/);
  });

  it("a boot position taken by two disks is the first disk's", () => {
    const r = kubevirtNetworkVerdict(
      vmOf(
        [{ name: "default", masquerade: {}, bootOrder: 1 }],
        [{ name: "default", pod: {} }],
        {},
        {
          disks: [
            { name: "a", bootOrder: 1 },
            { name: "b", bootOrder: 1 },
          ],
        },
      ),
    );
    assert.match(r.denials[0].message, /already taken by spec\.template\.spec\.domain\.devices\.disks\[0\]/);
  });

  it("state absent on an SR-IOV NIC is one denial (not a bridge), not two", () => {
    const r = kubevirtNetworkVerdict(
      vmOf(
        [
          { name: "default", masquerade: {} },
          { name: "sr", sriov: {}, state: "absent" },
        ],
        [
          { name: "default", pod: {} },
          { name: "sr", multus: { networkName: "tenant-a/sriov" } },
        ],
      ),
    );
    assert.deepEqual(denied(r), [`${IF1}.state`]);
  });

  it("a NIC model outside the list says which models there are", () => {
    assert.match(onPod({ model: "bogus" }).denials[0].message, /use one of e1000, e1000e, igb, ne2k_pci, pcnet, rtl8139, virtio/);
  });
});
