// Several pools per network, one default, and the vmnet.io/pools choice per NIC: the annotation's
// strict decoding, the pool rule (pool-choice.ts) and the VM webhook's refusals.
import assert from "node:assert/strict";
import { defaultPool, nicPools, parsePoolsAnnotation, validateVM } from "../../../capabilities/admission/rules";
import type { AdmissionSnapshot, ClaimHolding } from "../../../capabilities/domain/snapshot";
import { objectKeys } from "../../../capabilities/domain/vm-pools";
import { NETS, assertDenied, assertNoDenials, nad, pool, snapshot, vm } from "./fixtures";

const POOLS = "metadata.annotations['vmnet.io/pools']";
const NET = "tenant-a/vlan100";

// tenant-a/vlan100: "web" (default) and "db" (IPv4), "v6" (IPv6); "b-only" selects tenant-b only.
const WEB = pool("web", { cidr: "10.100.0.0/24", networks: [NET], default: true });
const DB = pool("db", { cidr: "10.101.0.0/24", networks: [NET], gateway: "10.101.0.1" });
const V6 = pool("v6", { cidr: "fd00:100::/64", networks: [NET] });
const B_ONLY = pool("b-only", { cidr: "10.102.0.0/24", networks: [NET], namespaceSelector: { matchLabels: { tenant: "b" } } });
const ELSEWHERE = pool("elsewhere", { cidr: "10.103.0.0/24", networks: ["tenant-a/other"] });

interface Extra {
  holdings?: Record<string, ClaimHolding>;
  free?: Record<string, bigint>;
}

function world(pools = [WEB, DB, V6, B_ONLY, ELSEWHERE], extra: Extra = {}): AdmissionSnapshot {
  const base = snapshot({
    pools,
    nads: [nad("tenant-a", "vlan100"), nad("tenant-a", "other")],
    namespaces: { "tenant-a": { tenant: "a" }, "tenant-b": { tenant: "b" } },
  });
  return { ...base, claimHolding: (ns, claim) => extra.holdings?.[`${ns}/${claim}`], freeCount: p => extra.free?.[p] ?? 100n };
}

const names = (r: ReturnType<typeof nicPools>): string[] => r.pools.map(p => String(p.metadata?.name));
const withPools = (value: unknown, annotations: Record<string, unknown> = {}): Record<string, unknown> =>
  vm({ annotations: { "vmnet.io/pools": value, ...annotations } });

describe("vmnet.io/pools", () => {
  describe("decoding", () => {
    it("reads a pool name, or a list of one or two, per interface", () => {
      const r = parsePoolsAnnotation('{"ovs1": "db", "ovs2": ["db", "v6"]}');
      assert.ok(r.ok);
      assert.deepEqual(
        [...r.choices],
        [
          ["ovs1", ["db"]],
          ["ovs2", ["db", "v6"]],
        ],
      );
    });

    it("refuses what Go and JSON.parse could read differently: a key twice, or twice but for case, or not plain ASCII", () => {
      for (const [text, fragment] of [
        ['{"ovs1": "db", "ovs1": "web"}', 'names interface "ovs1" twice; list each interface once'],
        ['{"ovs1": "db", "OVS1": "web"}', 'names interface "ovs1" twice (as "OVS1": keys are matched ignoring case'],
        ['{"ovs\\u017f": "db"}', "not a plain interface name"],
        ['{"": "db"}', "not a plain interface name"],
      ]) {
        const r = parsePoolsAnnotation(text);
        assert.ok(!r.ok && r.message.includes(fragment), `${text}: ${JSON.stringify(r)}`);
      }
      assert.ok(parsePoolsAnnotation('{"ovs1": {"ovs1": "x"}, "ovs2": "db"}').ok === false, "a nested object is not a pool name");
    });

    it("refuses the wrong shapes, naming the interface's field", () => {
      const cases: [unknown, string, string][] = [
        [5, POOLS, "must be a string holding JSON"],
        ["{bad", POOLS, "is not JSON"],
        ['["db"]', POOLS, "must be a JSON object"],
        ['{"ovs1": []}', `${POOLS}.ovs1`, "one or two pool names"],
        ['{"ovs1": ["a", "b", "c"]}', `${POOLS}.ovs1`, "one or two pool names"],
        ['{"ovs1": 7}', `${POOLS}.ovs1`, "one or two pool names"],
        ['{"ovs1": "DB"}', `${POOLS}.ovs1`, '"DB" is not an IPPool name'],
        ['{"ovs1": ["db", "db"]}', `${POOLS}.ovs1`, 'names IPPool "db" twice'],
      ];
      for (const [value, field, fragment] of cases) {
        const r = parsePoolsAnnotation(value);
        assert.ok(!r.ok && r.field === field && r.message.includes(fragment), `${JSON.stringify(value)}: ${JSON.stringify(r)}`);
      }
    });

    it("lists the top-level keys with duplicates, skipping nested objects and strings", () => {
      assert.deepEqual(objectKeys('{"a": {"b": 1}, "c": ["{\\"d\\": 2}"], "a": "x,\\"y"}'), ["a", "c", "a"]);
    });
  });

  describe("the default pool", () => {
    it("is the one marked default, else the only pool of the family; none when several and none marked", () => {
      assert.equal(defaultPool([WEB, DB], 4), WEB);
      assert.equal(defaultPool([DB], 4), DB);
      assert.equal(defaultPool([DB, pool("db2", { cidr: "10.9.0.0/24" })], 4), undefined);
      assert.equal(defaultPool([WEB, DB, V6], 6), V6);
    });

    it("is chosen among the pools that select the namespace", () => {
      assert.deepEqual(names(nicPools({ network: NET, namespace: "tenant-a" }, world())), ["web", "v6"]);
      assert.deepEqual(
        names(nicPools({ network: NET, namespace: "tenant-b" }, world())),
        ["web", "v6"],
        "the marked default selects every namespace",
      );
      // Each tenant's only IPv4 pool of the network is its default without a marker.
      const aOnly = pool("a-only", { cidr: "10.104.0.0/24", networks: [NET], namespaceSelector: { matchLabels: { tenant: "a" } } });
      assert.deepEqual(names(nicPools({ network: NET, namespace: "tenant-a" }, world([aOnly, B_ONLY]))), ["a-only"]);
      assert.deepEqual(names(nicPools({ network: NET, namespace: "tenant-b" }, world([aOnly, B_ONLY]))), ["b-only"]);
    });

    it("is missing where several pools serve a namespace and none is marked: the NIC must choose", () => {
      const unmarked = pool("web", { cidr: "10.100.0.0/24", networks: [NET] });
      const r = nicPools({ network: NET, namespace: "tenant-a" }, world([unmarked, DB]));
      assert.deepEqual(r.pools, []);
      assert.equal(r.problems[0].kind, "no-default");
      assert.match(r.problems[0].message, /has 2 IPv4 pools for namespace "tenant-a" \("db", "web"\) and none is its default/);
      assert.deepEqual(names(nicPools({ network: NET, namespace: "tenant-a", chosen: ["db"] }, world([unmarked, DB]))), ["db"]);
    });

    it("skips a pool that lost a conflict: of two marked default the younger serves nothing", () => {
      const older = pool("web", { cidr: "10.100.0.0/24", networks: [NET], default: true });
      older.metadata!.creationTimestamp = "2026-01-01T00:00:00Z";
      const younger = pool("db", { cidr: "10.101.0.0/24", networks: [NET], default: true });
      younger.metadata!.creationTimestamp = "2026-01-02T00:00:00Z";
      assert.deepEqual(names(nicPools({ network: NET, namespace: "tenant-a" }, world([older, younger]))), ["web"]);
      const chose = nicPools({ network: NET, namespace: "tenant-a", chosen: ["db"] }, world([older, younger]));
      assert.equal(chose.problems[0].kind, "not-ready");
    });
  });

  describe("a NIC's choice", () => {
    it("replaces the default of its family; the other family keeps its default", () => {
      assert.deepEqual(names(nicPools({ network: NET, namespace: "tenant-a", chosen: ["db"] }, world())), ["db", "v6"]);
      assert.deepEqual(names(nicPools({ network: NET, namespace: "tenant-a", chosen: ["v6", "db"] }, world())), ["db", "v6"]);
    });

    it("answers alike for a pool that does not exist and one that does not select the namespace (no oracle)", () => {
      const absent = nicPools({ network: NET, namespace: "tenant-a", chosen: ["nope"] }, world());
      const foreign = nicPools({ network: NET, namespace: "tenant-a", chosen: ["b-only"] }, world());
      assert.equal(absent.problems[0].message.replace('"nope"', "X"), foreign.problems[0].message.replace('"b-only"', "X"));
      assert.match(
        foreign.problems[0].message,
        /no IPPool named "b-only" serves namespace "tenant-a"; choose one of the pools of network "tenant-a\/vlan100" that serve it: "db", "web", "v6"/,
      );
      assert.ok(!foreign.problems[0].message.includes("10.102"), "nothing of the foreign pool's ranges");
    });

    it("refuses a pool that does not serve the NIC's network, and two pools of one family", () => {
      assert.match(
        nicPools({ network: NET, namespace: "tenant-a", chosen: ["elsewhere"] }, world()).problems[0].message,
        /IPPool "elsewhere" does not serve network "tenant-a\/vlan100"/,
      );
      const twice = nicPools({ network: NET, namespace: "tenant-a", chosen: ["web", "db"] }, world());
      assert.equal(twice.problems[0].kind, "family-twice");
      assert.deepEqual(twice.pools, []);
    });

    it("keeps the pools a NIC holds addresses of, and says so when the choice differs", () => {
      const r = nicPools({ network: NET, namespace: "tenant-a", chosen: ["db"], held: ["web", "v6"] }, world());
      assert.deepEqual([r.pools, r.kept?.map(p => p.metadata?.name)], [[], ["web", "v6"]]);
      assert.deepEqual(
        r.problems.map(p => p.kind),
        ["held"],
      );
      assert.deepEqual(nicPools({ network: NET, namespace: "tenant-a", chosen: ["db"], held: ["db", "v6"] }, world()).problems, []);
      // Bound before the network had an IPv6 pool: it keeps its IPv4 pool and gains the IPv6 default, no problem.
      const gains = nicPools({ network: NET, namespace: "tenant-a", held: ["web"] }, world());
      assert.deepEqual([names(gains), gains.kept, gains.problems], [["web", "v6"], undefined, []]);
      const gainsDb = nicPools({ network: NET, namespace: "tenant-a", held: ["db"] }, world());
      assert.deepEqual(
        [gainsDb.kept?.map(p => p.metadata?.name), gainsDb.problems.map(p => p.kind)],
        [["db", "v6"], ["held"]],
        "a held non-default IPv4 pool is kept (the default is another: a held problem) and gains the IPv6 default",
      );
      // A held pool that no longer serves the network: the choice wins (the binder re-addresses).
      assert.deepEqual(names(nicPools({ network: NET, namespace: "tenant-a", held: ["elsewhere"] }, world())), ["web", "v6"]);
    });
  });

  describe("the VM webhook", () => {
    const field = `${POOLS}.ovs1`;

    it("accepts a chosen pool of the NIC's network, and vmnet.io/addresses within it", () => {
      assertNoDenials(validateVM(withPools('{"ovs1": "db"}', { "vmnet.io/addresses": '{"ovs1": "10.101.0.7"}' }), world()));
      const r = validateVM(withPools('{"ovs1": "db"}', { "vmnet.io/addresses": '{"ovs1": "10.100.0.7"}' }), world());
      assertDenied(r, "metadata.annotations['vmnet.io/addresses'].ovs1", '"10.100.0.7"', "is outside 10.101.0.0/24", 'IPPool "db"');
    });

    it("refuses a pool of another network, a namespace not selected, a full pool", () => {
      assertDenied(
        validateVM(withPools('{"ovs1": "elsewhere"}'), world()),
        field,
        '"elsewhere"',
        'does not serve network "tenant-a/vlan100"',
      );
      const foreign = validateVM(withPools('{"ovs1": "b-only"}'), world());
      assertDenied(foreign, field, 'no IPPool named "b-only" serves namespace "tenant-a"');
      assert.ok(!JSON.stringify(foreign).includes("10.102") && !JSON.stringify(foreign).includes("matchLabels"), JSON.stringify(foreign));
      assertDenied(
        validateVM(withPools('{"ovs1": "db"}'), world(undefined, { free: { db: 0n } })),
        field,
        'IPPool "db" has no free address',
        "choose another pool",
      );
      assertNoDenials(
        validateVM(
          withPools('{"ovs1": "db"}'),
          world(undefined, { free: { db: 0n }, holdings: { "tenant-a/web-1.ovs1": { pools: ["db", "v6"], released: false } } }),
        ),
      );
    });

    it("refuses a choice for an interface the VM lacks (naming a case-only near miss), or one that takes no pool address", () => {
      assertDenied(validateVM(withPools('{"OVS1": "db"}'), world()), `${POOLS}.OVS1`, 'interface names are matched exactly, write "ovs1"');
      assertDenied(validateVM(withPools('{"default": "db"}'), world()), `${POOLS}.default`, "not a bridge interface");
    });

    it("refuses a change of pool on a bound NIC with how to re-address it; allows the update that keeps it", () => {
      const holdings = { "tenant-a/web-1.ovs1": { pools: ["web", "v6"], released: false } };
      const r = validateVM(withPools('{"ovs1": "db"}'), world(undefined, { holdings }), vm());
      const d = assertDenied(
        r,
        field,
        'interface "ovs1" holds its addresses in IPPool "web", "v6", not in "db", "v6"',
        'stop the VM, remove interface "ovs1"',
        "IPClaim tenant-a/web-1.ovs1",
      );
      assert.deepEqual(d.value, ["db"]);
      assertNoDenials(validateVM(withPools('{"ovs1": "web"}'), world(undefined, { holdings }), vm()));
      const retained = validateVM(
        withPools('{"ovs1": "db"}'),
        world(undefined, { holdings: { "tenant-a/web-1.ovs1": { pools: ["web", "v6"], released: true } } }),
      );
      assertDenied(retained, field, "retained (reclaimPolicy Retain)", "delete IPClaim tenant-a/web-1.ovs1 first");
    });

    it("does not block unrelated updates when the admin moved the default under a bound NIC", () => {
      const holdings = { "tenant-a/web-1.ovs1": { pools: ["db", "v6"], released: false } };
      const old = vm();
      const updated = vm({ annotations: { note: "x" } });
      const r = validateVM(updated, world(undefined, { holdings }), old);
      assertNoDenials(r);
      assert.ok(
        r.warnings.some(w => w.message.includes("holds its addresses in IPPool")),
        JSON.stringify(r),
      );
    });

    it("refuses a NIC without a choice on a network with several pools and no default, at the network", () => {
      const unmarked = pool("web", { cidr: "10.100.0.0/24", networks: [NET] });
      const r = validateVM(vm(), world([unmarked, DB]));
      assertDenied(r, `${NETS}[1].multus.networkName`, "none is its default", "vmnet.io/pools");
      assertNoDenials(validateVM(withPools('{"ovs1": "db"}'), world([unmarked, DB])));
    });

    it("refuses an annotation that does not parse, once", () => {
      const r = validateVM(withPools('{"ovs1": "db", "ovs1": "web"}'), world());
      assert.equal(r.denials.length, 1, JSON.stringify(r));
      assertDenied(r, POOLS, "annotation vmnet.io/pools", "twice");
    });
  });
});
