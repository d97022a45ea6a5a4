import assert from "node:assert/strict";
import { formatFinding, validateVM } from "../../../capabilities/admission/rules";
import { IFACES, NETS, VLAN100_POOL, assertDenied, assertNoDenials, assertWarned, nad, pool, snapshot, tenantWorld, vm } from "./fixtures";

const snap = snapshot(tenantWorld());
const ADDR = "metadata.annotations['vmnet.io/addresses']";

describe("validateVM", () => {
  it("accepts a VM with a masquerade pod NIC and a bridge NIC on a pool-backed OVS network", () => {
    assert.deepEqual(validateVM(vm(), snap), { denials: [], warnings: [] });
  });

  it("accepts a VM without interfaces (KubeVirt adds the default pod NIC)", () => {
    assert.deepEqual(validateVM({ metadata: { name: "x", namespace: "tenant-a" }, spec: {} }, snap), { denials: [], warnings: [] });
  });

  describe("interfaces and networks", () => {
    it("refuses an interface without a network of the same name", () => {
      const r = validateVM(vm({ networks: [{ name: "default", pod: {} }] }), snap);
      assertDenied(r, `${IFACES}[1].name`, '"ovs1"', "no network of the same name");
    });

    it("refuses a network without an interface of the same name", () => {
      const r = validateVM(vm({ interfaces: [{ name: "default", masquerade: {} }] }), snap);
      assertDenied(r, `${NETS}[1].name`, '"ovs1"', "has no interface");
    });

    it("refuses duplicate interface and network names", () => {
      const r = validateVM(
        vm({
          interfaces: [
            { name: "ovs1", bridge: {} },
            { name: "ovs1", bridge: {} },
          ],
          networks: [
            { name: "ovs1", multus: { networkName: "vlan100" } },
            { name: "ovs1", multus: { networkName: "vlan100" } },
          ],
        }),
        snap,
      );
      assertDenied(r, `${IFACES}[1].name`, '"ovs1"', `${IFACES}[0]`, "unique");
      assertDenied(r, `${NETS}[1].name`, '"ovs1"', "unique");
    });

    it("refuses an interface without a binding, and one with two", () => {
      const r = validateVM(vm({ interfaces: [{ name: "default" }, { name: "ovs1", bridge: {}, masquerade: {} }] }), snap);
      assertDenied(r, `${IFACES}[0]`, '"default"', "sets no binding", "exactly one");
      assertDenied(r, `${IFACES}[1].masquerade`, '"ovs1"', "bridge, masquerade", "keep exactly one");
    });

    it("refuses masquerade on a Multus network with the documented message", () => {
      const r = validateVM(
        vm({
          interfaces: [
            { name: "default", masquerade: {} },
            { name: "ovs1", masquerade: {} },
          ],
        }),
        snap,
      );
      const d = assertDenied(r, `${IFACES}[1].masquerade`, 'Multus network "tenant-a/vlan100"');
      assert.equal(
        formatFinding("VirtualMachine", "tenant-a/web-1", d),
        `VirtualMachine tenant-a/web-1: ${IFACES}[1].masquerade: masquerade binding on Multus network "tenant-a/vlan100" is not allowed; use bridge, or move the interface to the pod network`,
      );
      assert.equal(d.value, "tenant-a/vlan100");
    });

    it("refuses a second pod network", () => {
      const r = validateVM(
        vm({
          interfaces: [
            { name: "a", masquerade: {} },
            { name: "b", bridge: {} },
          ],
          networks: [
            { name: "a", pod: {} },
            { name: "b", pod: {} },
          ],
        }),
        snap,
      );
      assertDenied(r, `${NETS}[1].pod`, '"b"', "second pod network", "at most one");
    });

    it("refuses a network with neither or both of pod and multus", () => {
      const r = validateVM(
        vm({
          interfaces: [
            { name: "a", bridge: {} },
            { name: "b", bridge: {} },
          ],
          networks: [{ name: "a" }, { name: "b", pod: {}, multus: { networkName: "vlan100" } }],
        }),
        snap,
      );
      assertDenied(r, `${NETS}[0]`, '"a"', "neither pod");
      assertDenied(r, `${NETS}[1]`, '"b"', "both pod and multus");
    });

    for (const bad of ["Tenant_A/vlan100", "a/b/c", "", "tenant-a/", "-x"]) {
      it(`refuses the malformed Multus network name ${JSON.stringify(bad)}`, () => {
        const r = validateVM(
          vm({
            networks: [
              { name: "default", pod: {} },
              { name: "ovs1", multus: { networkName: bad } },
            ],
          }),
          snap,
        );
        assertDenied(r, `${NETS}[1].multus.networkName`, JSON.stringify(bad));
      });
    }

    it("accepts a bare Multus network name, qualified with the VM's namespace", () => {
      const r = validateVM(
        vm({
          networks: [
            { name: "default", pod: {} },
            { name: "ovs1", multus: { networkName: "vlan100" } },
          ],
        }),
        snap,
      );
      assert.deepEqual(r, { denials: [], warnings: [] });
    });

    it("refuses malformed shapes with the field named", () => {
      const r = validateVM(
        {
          metadata: { namespace: "tenant-a", name: "x", annotations: "oops" },
          spec: { template: { spec: { domain: { devices: { interfaces: { a: 1 } } }, networks: [5, { pod: {} }] } } },
        },
        snap,
      );
      assertDenied(r, "metadata.annotations", "map of strings");
      assertDenied(r, IFACES, "must be a list");
      assertDenied(r, `${NETS}[0]`, "must be an object");
      assertDenied(r, `${NETS}[1].name`, "non-empty string");
    });
  });

  describe("ports", () => {
    it("refuses out-of-range ports and unknown protocols; a repeated port only warns without vmnet.io/expose", () => {
      const ports = [
        { port: 0 },
        { port: 70000 },
        { port: "80" },
        { port: 22, protocol: "tcp" },
        { port: 22 },
        { port: 22, protocol: "TCP" },
        { port: 22, protocol: "UDP" },
      ];
      const r = validateVM(
        vm({
          interfaces: [
            { name: "default", masquerade: {}, ports },
            { name: "ovs1", bridge: {} },
          ],
        }),
        snap,
      );
      assertDenied(r, `${IFACES}[0].ports[0].port`, "0", "1 to 65535");
      assertDenied(r, `${IFACES}[0].ports[1].port`, "70000");
      assertDenied(r, `${IFACES}[0].ports[2].port`, '"80"');
      assertDenied(r, `${IFACES}[0].ports[3].protocol`, '"tcp"', "TCP or UDP");
      assert.equal(r.denials.length, 4, JSON.stringify(r.denials));
      const exposed = validateVM(
        vm({
          interfaces: [
            { name: "default", masquerade: {}, ports },
            { name: "ovs1", bridge: {} },
          ],
          annotations: { "vmnet.io/expose": "ClusterIP" },
        }),
        snap,
      );
      assertDenied(exposed, `${IFACES}[0].ports[5]`, "22/TCP", "ports[4]", "vmnet.io/expose", "vmnet-operator's rule");
    });

    it("refuses ports that are not a list", () => {
      const r = validateVM(
        vm({
          interfaces: [
            { name: "default", masquerade: {}, ports: 22 },
            { name: "ovs1", bridge: {} },
          ],
        }),
        snap,
      );
      assertDenied(r, `${IFACES}[0].ports`, "must be a list");
    });
  });

  describe("macAddress", () => {
    const withMacs = (a: unknown, b: unknown): Record<string, unknown> =>
      vm({
        interfaces: [
          { name: "default", masquerade: {}, macAddress: a },
          { name: "ovs1", bridge: {}, macAddress: b },
        ],
      });

    it("accepts distinct unicast MACs", () => {
      assertNoDenials(validateVM(withMacs("02:00:00:00:00:01", "02-00-00-00-00-02"), snap));
    });

    it("refuses malformed, multicast and zero MACs", () => {
      let r = validateVM(withMacs("02:00:00:00:00", "01:00:5e:00:00:01"), snap);
      assertDenied(r, `${IFACES}[0].macAddress`, '"02:00:00:00:00"', "not a MAC address");
      assertDenied(r, `${IFACES}[1].macAddress`, '"01:00:5e:00:00:01"', "multicast");
      r = validateVM(withMacs("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"), snap);
      assertDenied(r, `${IFACES}[0].macAddress`, '"00:00:00:00:00:00"', "all-zero");
      assertDenied(r, `${IFACES}[1].macAddress`, "multicast");
    });

    it("refuses a MAC used twice in the VM (case and separator insensitive)", () => {
      const r = validateVM(withMacs("02:AB:00:00:00:01", "02-ab-00-00-00-01"), snap);
      assertDenied(r, `${IFACES}[1].macAddress`, '"02-ab-00-00-00-01"', 'interface "default"');
    });
  });

  describe("pool namespaceSelector", () => {
    const guarded = (namespaceSelector: unknown): ReturnType<typeof snapshot> =>
      snapshot(
        tenantWorld({
          pools: [pool("shared", { cidr: "10.200.0.0/24", networks: ["tenant-a/shared"], namespaceSelector })],
          nads: [nad("tenant-a", "shared")],
        }),
      );
    const onShared = vm({
      networks: [
        { name: "default", pod: {} },
        { name: "ovs1", multus: { networkName: "tenant-a/shared" } },
      ],
    });
    const field = `${NETS}[1].multus.networkName`;

    it("refuses a network whose pool does not select the VM's namespace", () => {
      const r = validateVM(onShared, guarded({ matchLabels: { tenant: "b" } }));
      assertDenied(r, field, '"tenant-a/shared"', "an IPPool that does not serve", 'namespace "tenant-a"');
      // Neither the pool's name nor its selector: the tenant may not read that pool.
      assert.ok(!JSON.stringify(r).includes('IPPool \\"shared\\"') && !JSON.stringify(r).includes("matchLabels"), JSON.stringify(r));
    });

    const cases: [string, unknown, boolean][] = [
      ["matchLabels match", { matchLabels: { tenant: "a" } }, true],
      ["In", { matchExpressions: [{ key: "tenant", operator: "In", values: ["a", "c"] }] }, true],
      ["In without the value", { matchExpressions: [{ key: "tenant", operator: "In", values: ["c"] }] }, false],
      ["NotIn", { matchExpressions: [{ key: "tenant", operator: "NotIn", values: ["a"] }] }, false],
      ["NotIn other", { matchExpressions: [{ key: "tenant", operator: "NotIn", values: ["b"] }] }, true],
      ["Exists", { matchExpressions: [{ key: "tenant", operator: "Exists" }] }, true],
      ["Exists missing", { matchExpressions: [{ key: "team", operator: "Exists" }] }, false],
      ["DoesNotExist", { matchExpressions: [{ key: "tenant", operator: "DoesNotExist" }] }, false],
      ["name label", { matchLabels: { "kubernetes.io/metadata.name": "tenant-a" } }, true],
      ["empty", {}, true],
      ["unknown operator fails closed", { matchExpressions: [{ key: "tenant", operator: "Gt", values: ["1"] }] }, false],
    ];
    for (const [what, selector, allowed] of cases) {
      it(`${allowed ? "allows" : "refuses"} with ${what}`, () => {
        const r = validateVM(onShared, guarded(selector));
        if (allowed) assertNoDenials(r);
        else assertDenied(r, field, "an IPPool that does not serve");
      });
    }
  });

  describe("vmnet.io/addresses", () => {
    const withAddresses = (value: unknown, extra: Parameters<typeof vm>[0] = {}): Record<string, unknown> =>
      vm({ ...extra, annotations: { "vmnet.io/addresses": value } });

    it("accepts an address inside the pool, and a dual-stack pair", () => {
      assertNoDenials(validateVM(withAddresses('{"ovs1": "10.100.0.23"}'), snap));
      assertNoDenials(validateVM(withAddresses('{"ovs1": ["10.100.0.23", "fd00:100::23"]}'), snap));
    });

    it("refuses JSON that does not parse, naming the position", () => {
      const r = validateVM(withAddresses('{"ovs1": 10.100.0.23}'), snap);
      assertDenied(r, ADDR, "is not JSON", "line 1, column", '{"ovs1": "10.100.0.23"}');
    });

    it("refuses the wrong shape", () => {
      assertDenied(validateVM(withAddresses('{"ovs1": 5}'), snap), `${ADDR}.ovs1`, "one or two addresses");
      assertDenied(validateVM(withAddresses('{"ovs1": ["10.100.0.1", "10.100.0.2", "10.100.0.3"]}'), snap), `${ADDR}.ovs1`);
      assertDenied(validateVM(withAddresses('["10.100.0.23"]'), snap), ADDR, "expected record");
      assertDenied(validateVM(withAddresses(5), snap), ADDR, "must be a string");
    });

    it("refuses unknown interfaces and interfaces that take no pool address", () => {
      assertDenied(validateVM(withAddresses('{"eth9": "10.100.0.23"}'), snap), `${ADDR}.eth9`, '"eth9"', "does not have", "default, ovs1");
      assertDenied(validateVM(withAddresses('{"default": "10.100.0.23"}'), snap), `${ADDR}.default`, '"default"', "not a bridge interface");
      const other = vm({
        networks: [
          { name: "default", pod: {} },
          { name: "ovs1", multus: { networkName: "tenant-a/nopool" } },
        ],
        annotations: { "vmnet.io/addresses": '{"ovs1": "10.100.0.23"}' },
      });
      // No pool serves the network yet: GitOps may apply it later, so this only warns.
      const result = validateVM(other, snap);
      assert.equal(result.denials.length, 0);
      assert.ok(result.warnings.some(w => w.field === `${ADDR}.ovs1` && w.message.includes("no IPPool serves yet")));
    });

    const bad: [string, string, string[]][] = [
      ["10.101.0.5", "outside the CIDR", ["is outside 10.100.0.0/24", 'IPPool "tenant-a-vlan100"']],
      ["10.100.0.5", "outside the ranges", ["outside the pool's ranges (10.100.0.10-10.100.0.200)"]],
      ["10.100.0.50", "an excluded address", ["spec.exclude[0] (10.100.0.50)"]],
      ["10.100.0.70", "inside an excluded CIDR", ["spec.exclude[1] (10.100.0.64/28)"]],
      ["10.100.0.23/24", "an address with prefix", ["without a prefix length"]],
      ["not-an-ip", "not an address", ["is not an IPv4 or IPv6 address"]],
      // Admission once read this as ::ffff:a64:17 and admitted it; the binder refuses it as IPv4-mapped.
      [
        "::ffff:10.100.0.23",
        "an IPv4-mapped IPv6 address, as the binder does",
        ["is an IPv4-mapped IPv6 address", "write the IPv4 address itself (10.100.0.23)"],
      ],
    ];
    for (const [address, what, fragments] of bad) {
      it(`refuses ${what}`, () => {
        const d = assertDenied(
          validateVM(withAddresses(JSON.stringify({ ovs1: address })), snap),
          `${ADDR}.ovs1`,
          JSON.stringify(address),
          ...fragments,
        );
        assert.equal(d.value, address);
      });
    }

    it("refuses the gateway", () => {
      const world = tenantWorld();
      world.pools = [pool("gw", { cidr: "10.100.0.0/24", gateway: "10.100.0.1", networks: ["tenant-a/vlan100"] })];
      assertDenied(validateVM(withAddresses('{"ovs1": "10.100.0.1"}'), snapshot(world)), `${ADDR}.ovs1`, '"10.100.0.1"', "gateway");
    });

    it("refuses the network address when the pool has no ranges", () => {
      const world = tenantWorld();
      world.pools = [pool("whole", { cidr: "10.100.0.0/24", networks: ["tenant-a/vlan100"] })];
      assertDenied(validateVM(withAddresses('{"ovs1": "10.100.0.0"}'), snapshot(world)), `${ADDR}.ovs1`, "network address");
      assertDenied(validateVM(withAddresses('{"ovs1": "10.100.0.255"}'), snapshot(world)), `${ADDR}.ovs1`, "broadcast address");
    });

    it("refuses the network address even when an explicit range covers it", () => {
      const world = tenantWorld();
      world.pools = [pool("ranged", { cidr: "10.100.0.0/24", ranges: ["10.100.0.0-10.100.0.255"], networks: ["tenant-a/vlan100"] })];
      assertDenied(validateVM(withAddresses('{"ovs1": "10.100.0.0"}'), snapshot(world)), `${ADDR}.ovs1`, "network address");
      assertNoDenials(validateVM(withAddresses('{"ovs1": "10.100.0.1"}'), snapshot(world)));
    });

    it("refuses an address held by another namespace's VM as in use, naming nothing of it", () => {
      const world = tenantWorld({
        allocations: [{ pool: "tenant-a-vlan100", address: "10.100.0.23", namespace: "tenant-b", claim: "db-1.ovs2", vm: "db-1" }],
      });
      const r = validateVM(withAddresses('{"ovs1": "10.100.0.23"}'), snapshot(world));
      assertDenied(r, `${ADDR}.ovs1`, '"10.100.0.23"', "is in use");
      assert.ok(!JSON.stringify(r).includes("db-1") && !JSON.stringify(r).includes("tenant-b"), JSON.stringify(r));
    });

    it("names the holder when it is a VM of the same namespace", () => {
      const world = tenantWorld({
        allocations: [{ pool: "tenant-a-vlan100", address: "10.100.0.23", namespace: "tenant-a", claim: "db-1.ovs2", vm: "db-1" }],
      });
      const r = validateVM(withAddresses('{"ovs1": "10.100.0.23"}'), snapshot(world));
      assertDenied(r, `${ADDR}.ovs1`, '"10.100.0.23"', "held by VM tenant-a/db-1", 'interface "ovs2"');
    });

    it("accepts an address held by the VM's own claim for that interface", () => {
      const world = tenantWorld({
        allocations: [{ pool: "tenant-a-vlan100", address: "10.100.0.23", namespace: "tenant-a", claim: "web-1.ovs1", vm: "web-1" }],
      });
      assertNoDenials(validateVM(withAddresses('{"ovs1": "10.100.0.23"}'), snapshot(world)));
    });

    it("refuses an address held by another interface of the same VM", () => {
      const world = tenantWorld({
        allocations: [{ pool: "tenant-a-vlan100", address: "10.100.0.23", namespace: "tenant-a", claim: "web-1.ovs2", vm: "web-1" }],
      });
      assertDenied(validateVM(withAddresses('{"ovs1": "10.100.0.23"}'), snapshot(world)), `${ADDR}.ovs1`, "tenant-a/web-1", '"ovs2"');
    });

    it("refuses an IPv6 address whose derived MAC a held address has, as the binder does, naming neither holder nor address", () => {
      // fd00:100::1:0:0:17 and fd00:100::17 share their low 40 bits, so both would be 0a:00:00:00:00:17.
      const world = tenantWorld({
        allocations: [{ pool: "tenant-a-vlan100-v6", address: "fd00:100::17", namespace: "tenant-b", claim: "db-1.ovs1", vm: "db-1" }],
      });
      const d = assertDenied(
        validateVM(withAddresses('{"ovs1": "fd00:100:0:0:1::17"}'), snapshot(world)),
        `${ADDR}.ovs1`,
        "would get MAC 0a:00:00:00:00:17",
        "tenant-a-vlan100-v6",
      );
      assert.ok(!d.message.includes("db-1") && !d.message.includes("fd00:100::17"), d.message);
      assertNoDenials(validateVM(withAddresses('{"ovs1": "fd00:100::18"}'), snapshot(world)));
    });

    it("refuses two addresses of one family, and a family no pool serves", () => {
      assertDenied(
        validateVM(withAddresses('{"ovs1": ["10.100.0.23", "10.100.0.24"]}'), snap),
        `${ADDR}.ovs1[1]`,
        '"10.100.0.24"',
        "second IPv4",
      );
      const v4only = snapshot({ ...tenantWorld(), pools: [VLAN100_POOL] });
      assertDenied(
        validateVM(withAddresses('{"ovs1": "fd00:100::5"}'), v4only),
        `${ADDR}.ovs1`,
        '"fd00:100::5"',
        "no IPv6 pool",
        "tenant-a-vlan100",
      );
    });

    it("refuses one address requested for two interfaces on one pool", () => {
      const r = validateVM(
        vm({
          interfaces: [
            { name: "a", bridge: {} },
            { name: "b", bridge: {} },
          ],
          networks: [
            { name: "a", multus: { networkName: "vlan100" } },
            { name: "b", multus: { networkName: "vlan100" } },
          ],
          annotations: { "vmnet.io/addresses": '{"a": "10.100.0.23", "b": "10.100.0.23"}' },
        }),
        snap,
      );
      assertDenied(r, `${ADDR}.b`, '"10.100.0.23"', '"a" and "b"');
    });
  });

  describe("vmnet.io/expose and vmnet.io/service-ip", () => {
    it("accepts each Service type on a masquerade NIC with ports", () => {
      for (const t of ["ClusterIP", "NodePort", "LoadBalancer"])
        assertNoDenials(validateVM(vm({ annotations: { "vmnet.io/expose": t } }), snap));
    });

    it("refuses an unknown Service type", () => {
      assertDenied(
        validateVM(vm({ annotations: { "vmnet.io/expose": "External" } }), snap),
        "metadata.annotations['vmnet.io/expose']",
        '"External"',
        "ClusterIP, NodePort, LoadBalancer",
      );
    });

    it("refuses expose without a masquerade NIC, or without ports", () => {
      const bridgeOnly = vm({
        interfaces: [{ name: "ovs1", bridge: {} }],
        networks: [{ name: "ovs1", multus: { networkName: "vlan100" } }],
        annotations: { "vmnet.io/expose": "ClusterIP" },
      });
      assertDenied(validateVM(bridgeOnly, snap), "metadata.annotations['vmnet.io/expose']", "needs a masquerade interface");
      const noPorts = vm({
        interfaces: [
          { name: "default", masquerade: {} },
          { name: "ovs1", bridge: {} },
        ],
        annotations: { "vmnet.io/expose": "NodePort" },
      });
      assertDenied(validateVM(noPorts, snap), "metadata.annotations['vmnet.io/expose']", "needs the ports", `${IFACES}[0].ports`);
    });

    it("refuses a service-ip that is not an IP, and warns when it has no expose", () => {
      assertDenied(
        validateVM(vm({ annotations: { "vmnet.io/expose": "ClusterIP", "vmnet.io/service-ip": "10.96.0.300" } }), snap),
        "metadata.annotations['vmnet.io/service-ip']",
        '"10.96.0.300"',
      );
      assertNoDenials(validateVM(vm({ annotations: { "vmnet.io/expose": "ClusterIP", "vmnet.io/service-ip": "fd00::50" } }), snap));
      assertWarned(
        validateVM(vm({ annotations: { "vmnet.io/service-ip": "10.96.0.50" } }), snap),
        "metadata.annotations['vmnet.io/service-ip']",
        "no effect",
      );
    });
  });

  describe("warnings", () => {
    const podBridge = (templateAnnotations?: Record<string, unknown>): Record<string, unknown> =>
      vm({ interfaces: [{ name: "default", bridge: {} }], networks: [{ name: "default", pod: {} }], templateAnnotations });

    it("warns that bridge on the pod network blocks live migration, unless the VMI allows it", () => {
      const r = validateVM(podBridge(), snap);
      assertNoDenials(r);
      assertWarned(r, `${IFACES}[0].bridge`, "blocks live migration", "kubevirt.io/allow-pod-bridge-network-live-migration");
      assert.deepEqual(validateVM(podBridge({ "kubevirt.io/allow-pod-bridge-network-live-migration": "" }), snap).warnings, []);
    });

    it("warns about a NetworkAttachmentDefinition that does not exist yet", () => {
      const r = validateVM(
        vm({
          networks: [
            { name: "default", pod: {} },
            { name: "ovs1", multus: { networkName: "tenant-a/later" } },
          ],
        }),
        snap,
      );
      assertNoDenials(r);
      assertWarned(r, `${NETS}[1].multus.networkName`, "tenant-a/later", "does not exist");
    });

    it("warns when the pool-backed NAD cannot carry fixed addresses", () => {
      const world = tenantWorld();
      world.nads = [nad("tenant-a", "vlan100", JSON.stringify({ type: "ovs", bridge: "br1", ipam: { type: "host-local" } }))];
      assertWarned(validateVM(vm(), snapshot(world)), `${NETS}[1].multus.networkName`, "not ready", '"host-local"');
    });
  });

  describe("updates", () => {
    it("does not block an update for a problem the old VM already had, but still refuses new ones", () => {
      const world = snapshot(
        tenantWorld({
          pools: [
            pool("shared", { cidr: "10.200.0.0/24", networks: ["tenant-a/shared"], namespaceSelector: { matchLabels: { tenant: "b" } } }),
          ],
        }),
      );
      const old = vm({
        networks: [
          { name: "default", pod: {} },
          { name: "ovs1", multus: { networkName: "shared" } },
        ],
      });
      const same = { ...old, metadata: { ...(old.metadata as object), finalizers: ["vmnet.io/release"] } };
      const r = validateVM(same, world, old);
      assertNoDenials(r);
      assertWarned(r, `${NETS}[1].multus.networkName`, "an IPPool that does not serve", "already so before this update");
      const worse = vm({
        networks: [
          { name: "default", pod: {} },
          { name: "ovs1", multus: { networkName: "shared" } },
        ],
        annotations: { "vmnet.io/expose": "Bogus" },
      });
      assertDenied(validateVM(worse, world, old), "metadata.annotations['vmnet.io/expose']", '"Bogus"');
    });
  });
});
