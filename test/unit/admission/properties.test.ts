// Randomised and malformed input: the validators and the renderer never throw, and every finding
// names a field and a reason.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ValidationResult,
  nadPoolReadiness,
  parseAddressesAnnotation,
  renderLauncherNetworks,
  validateNAD,
  validatePool,
  validatePoolDelete,
  validateVM,
} from "../../../capabilities/admission/rules";
import { OVS_READY, VLAN100_POOL, nad, pool, snapshot, tenantWorld, vm } from "./fixtures";

// ADMISSION_FC_RUNS=20000 for a longer soak.
const RUNS = { numRuns: Number(process.env.ADMISSION_FC_RUNS ?? 400) };

const world = snapshot(
  tenantWorld({
    pools: [
      pool("shared", {
        cidr: "10.200.0.0/24",
        networks: ["tenant-a/shared"],
        namespaceSelector: { matchExpressions: [{ key: "tenant", operator: "In", values: ["b"] }] },
      }),
    ],
    allocations: [
      { pool: "tenant-a-vlan100", address: "10.100.0.23", namespace: "tenant-b", claim: "db-1.ovs1", vm: "db-1" },
      { pool: "tenant-a-vlan100", address: "10.100.0.150", namespace: "tenant-a", claim: "web-1.ovs1", vm: "web-1" },
    ],
  }),
);

/** Arbitrary JSON, and arbitrary JS values (null prototypes, bigints, sparse arrays, dates...). */
const json = fc.jsonValue({ maxDepth: 3 });
const anything = fc.oneof(
  json,
  fc.anything({ maxDepth: 2, withNullPrototype: true, withBigInt: true, withDate: true, withSparseArray: true, withBoxedValues: true }),
);

function maybe<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> {
  return fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: anything });
}

/** Replaces the value at a random path of a copy of `base` (walking keys by index). */
function mutated(base: unknown): fc.Arbitrary<unknown> {
  return fc.tuple(fc.array(fc.nat(), { maxLength: 8 }), anything).map(([path, value]) => replaceAt(structuredClone(base), path, value));
}

function replaceAt(root: unknown, path: number[], value: unknown): unknown {
  if (path.length === 0 || typeof root !== "object" || root === null) return value;
  const keys = Object.keys(root);
  if (keys.length === 0) return value;
  const key = keys[path[0] % keys.length];
  (root as Record<string, unknown>)[key] = replaceAt((root as Record<string, unknown>)[key], path.slice(1), value);
  return root;
}

/** JSON text of a generated value; values JSON cannot hold (bigints) become a string. */
function stringify(x: unknown): string {
  try {
    return JSON.stringify(x) ?? "";
  } catch {
    return String(typeof x);
  }
}

function withoutAddresses(el: unknown): unknown {
  if (typeof el !== "object" || el === null || Array.isArray(el)) return el;
  const rest: Record<string, unknown> = { ...(el as Record<string, unknown>) };
  delete rest.ips;
  delete rest.mac;
  // The MAC again, where newer ovs-cni reads it (launcher-pod.ts).
  delete rest["cni-args"];
  return rest;
}

function assertWellFormed(result: ValidationResult): void {
  assert.ok(Array.isArray(result.denials) && Array.isArray(result.warnings));
  for (const f of [...result.denials, ...result.warnings]) {
    assert.equal(typeof f.field, "string");
    assert.ok(f.field.length > 0, `empty field for message ${f.message}`);
    assert.equal(typeof f.message, "string");
    assert.ok(f.message.length > 0, `empty message for ${f.field}`);
  }
}

const names = fc.constantFrom("default", "ovs1", "ovs2", "a", "", "__proto__", "constructor", "toString");
const address = fc.oneof(
  fc.constantFrom("10.100.0.23", "10.100.0.1", "10.100.0.50", "10.100.0.150", "fd00:100::5", "10.100.0.23/24", "x", ""),
  fc.ipV4(),
  fc.ipV6(),
);
const addressesAnnotation = fc.oneof(
  fc.dictionary(names, fc.oneof(address, fc.array(address, { maxLength: 3 }), json)).map(stringify),
  fc.string(),
  fc.json(),
);
const annotations = fc.dictionary(
  fc.constantFrom(
    "vmnet.io/addresses",
    "vmnet.io/expose",
    "vmnet.io/service-ip",
    "kubevirt.io/allow-pod-bridge-network-live-migration",
    "other",
  ),
  maybe(fc.oneof(addressesAnnotation, fc.constantFrom("ClusterIP", "NodePort", "LoadBalancer", "Bogus", "10.96.0.5"), fc.string())),
);
const binding = fc.constantFrom({}, undefined, null, { extra: 1 });
const iface = fc.record(
  {
    name: maybe(names),
    bridge: binding,
    masquerade: binding,
    sriov: fc.constantFrom(undefined, {}),
    macAddress: maybe(fc.constantFrom("02:00:00:00:00:01", "02-00-00-00-00-01", "01:00:5e:00:00:01", "00:00:00:00:00:00", "zz")),
    ports: maybe(
      fc.array(
        fc.record(
          { port: maybe(fc.integer({ min: -1, max: 70000 })), protocol: maybe(fc.constantFrom("TCP", "UDP", "SCTP", "tcp")) },
          { requiredKeys: [] },
        ),
        { maxLength: 4 },
      ),
    ),
  },
  { requiredKeys: [] },
);
const network = fc.record(
  {
    name: maybe(names),
    pod: fc.constantFrom({}, undefined),
    multus: maybe(
      fc.record(
        { networkName: maybe(fc.constantFrom("tenant-a/vlan100", "vlan100", "shared", "tenant-a/later", "Bad/x", "a/b/c", "")) },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);
const vmArb = fc.oneof(
  fc
    .record({
      namespace: fc.constantFrom("tenant-a", "tenant-b"),
      name: fc.constantFrom("web-1", "db-1"),
      interfaces: fc.array(iface, { maxLength: 4 }),
      networks: fc.array(network, { maxLength: 4 }),
      annotations,
      templateAnnotations: annotations,
    })
    .map(parts => vm(parts as Parameters<typeof vm>[0])),
  mutated(vm({ annotations: { "vmnet.io/addresses": '{"ovs1": "10.100.0.23"}', "vmnet.io/expose": "ClusterIP" } })),
  anything,
);

describe("admission properties", () => {
  it("validateVM never throws on random or malformed VMs, and every finding names a field and a reason", () => {
    fc.assert(
      fc.property(vmArb, fc.option(vmArb, { nil: undefined }), (v, old) => {
        assertWellFormed(validateVM(v, world, old));
      }),
      RUNS,
    );
  });

  it("parseAddressesAnnotation never throws", () => {
    fc.assert(
      fc.property(fc.oneof(addressesAnnotation, anything), v => {
        const r = parseAddressesAnnotation(v);
        assert.ok(r.ok || (r.field.length > 0 && r.message.length > 0));
      }),
      RUNS,
    );
  });

  const cidr = fc.oneof(
    fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 40 })).map(([ip, p]) => `${ip}/${p}`),
    fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 130 })).map(([ip, p]) => `${ip}/${p}`),
    fc.constantFrom("10.100.0.0/24", "fd00:100::/64", "10.100.0.0/31", "10.100.0.0/32"),
  );
  const rangeText = fc.oneof(
    fc.tuple(address, address).map(([a, b]) => `${a}-${b}`),
    address,
    fc.string(),
  );
  const poolArb = fc.oneof(
    fc
      .record(
        {
          cidr: maybe(cidr),
          ranges: maybe(fc.array(rangeText, { maxLength: 4 })),
          exclude: maybe(fc.array(fc.oneof(address, cidr), { maxLength: 4 })),
          gateway: maybe(address),
          networks: maybe(fc.array(fc.constantFrom("tenant-a/vlan100", "tenant-a/shared", "vlan100", "Bad/x"), { maxLength: 3 })),
          namespaceSelector: maybe(
            fc.record(
              { matchLabels: maybe(fc.dictionary(fc.string(), fc.string())), matchExpressions: maybe(fc.array(json, { maxLength: 2 })) },
              { requiredKeys: [] },
            ),
          ),
        },
        { requiredKeys: [] },
      )
      .chain(spec => fc.constantFrom("tenant-a-vlan100", "new-pool", "shared").map(name => pool(name, spec))),
    mutated(VLAN100_POOL),
    anything,
  );

  it("validatePool and validatePoolDelete never throw on random or malformed pools", () => {
    fc.assert(
      fc.property(poolArb, fc.option(poolArb, { nil: undefined }), (p, old) => {
        assertWellFormed(validatePool(p, world, old));
        assertWellFormed(validatePoolDelete(p, world));
      }),
      RUNS,
    );
  });

  const cniConfig = fc.oneof(
    fc.string(),
    fc.json(),
    mutated(JSON.parse(OVS_READY)).map(stringify),
    mutated({ plugins: [JSON.parse(OVS_READY), { type: "tuning", capabilities: { mac: true } }] }).map(stringify),
    fc.json().map(j => j.slice(0, Math.max(0, j.length - 1))),
    anything,
  );
  const nadArb = fc.oneof(
    fc.tuple(fc.constantFrom("vlan100", "other"), cniConfig).map(([name, config]) => nad("tenant-a", name, config)),
    mutated(nad("tenant-a", "vlan100")),
    anything,
  );

  it("validateNAD and nadPoolReadiness never throw on random or malformed NADs", () => {
    fc.assert(
      fc.property(nadArb, fc.option(nadArb, { nil: undefined }), cniConfig, (n, old, config) => {
        assertWellFormed(validateNAD(n, world, old));
        const r = nadPoolReadiness(config);
        assert.ok(r.ready || (typeof r.reason === "string" && r.reason.length > 0));
      }),
      RUNS,
    );
  });

  const claimArb = fc.oneof(
    fc.record({
      spec: fc.record({ interface: names, network: fc.constantFrom("tenant-a/vlan100", "tenant-a/other", "tenant-b/vlan100") }),
      status: fc.record(
        {
          addresses: fc.array(fc.constantFrom("10.100.0.23/24", "fd00::5/64"), { maxLength: 2 }),
          mac: fc.constantFrom("02:00:0a:64:00:17", undefined),
          conditions: fc.constantFrom([{ type: "Bound", status: "True" }], [], [{ type: "Bound", status: "False" }]),
        },
        { requiredKeys: [] },
      ),
    }),
    anything,
  );
  const element = fc.record(
    {
      name: maybe(fc.constantFrom("vlan100", "other")),
      namespace: maybe(fc.constantFrom("tenant-a", "tenant-b")),
      interface: maybe(fc.constantFrom("net1", "pod1234")),
      extra: json,
    },
    { requiredKeys: [] },
  );
  const networksAnnotation = fc.oneof(
    fc.array(fc.oneof(element, json), { maxLength: 4 }).map(stringify),
    fc.array(fc.constantFrom("vlan100", "tenant-a/vlan100@eth1", "other", "tenant-b/vlan100"), { maxLength: 4 }).map(l => l.join(",")),
    fc.string(),
    fc.json(),
  );

  it("renderLauncherNetworks never throws, keeps order and untouched elements, and only adds ips/mac (and the MAC as cni-args)", () => {
    fc.assert(
      fc.property(networksAnnotation, fc.array(claimArb as fc.Arbitrary<never>, { maxLength: 4 }), (value, claims) => {
        const r = renderLauncherNetworks(value, "tenant-a", claims, new Set(["tenant-a/vlan100"]));
        assert.ok(Array.isArray(r.missing));
        if (!r.changed) return assert.equal(r.value, value);
        assert.equal(r.error, undefined);
        const out = JSON.parse(r.value) as Record<string, unknown>[];
        const input = value.trim().startsWith("[") ? (JSON.parse(value) as unknown[]) : undefined;
        if (!input) return;
        assert.equal(out.length, input.length);
        out.forEach((el, i) => assert.deepEqual(withoutAddresses(el), withoutAddresses(input[i])));
      }),
      RUNS,
    );
  });
});
