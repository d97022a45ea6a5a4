// Pool layouts: the exact reason and fix of every InvalidPoolError (admission shows them as
// written), the reservations list, and the boundaries of ranges, gateway and exclusions. Expected
// values are written out by hand from the IPPool rules in DESIGN.md.
import assert from "node:assert/strict";
import { PoolSpecInput, formatIP, parseIP, poolLayout, validatePoolSpec, whyUnusable } from "../../../capabilities/ipam";

const errors = (spec: PoolSpecInput): string[] => validatePoolSpec(spec).map(e => `${e.field} | ${e.value} | ${e.reason} | ${e.fix}`);
const usable = (spec: PoolSpecInput): string => {
  const l = poolLayout(spec);
  return l.usable.toString(v => formatIP(l.family, v));
};

describe("ipam/poolLayout, every reason and boundary", () => {
  it("spec.cidr problems", () => {
    assert.deepEqual(errors({ cidr: "10.100.0.7/24" }), ["spec.cidr | 10.100.0.7/24 | has host bits set | write 10.100.0.0/24"]);
    assert.deepEqual(errors({ cidr: "nope" }), [
      "spec.cidr | nope | is not a CIDR (address/prefix, such as 10.100.0.0/24) | write a CIDR such as 10.100.0.0/24 or fd00:100::/64",
    ]);
    assert.deepEqual(errors(undefined as unknown as PoolSpecInput), [
      "spec.cidr | undefined | is not a CIDR (address/prefix, such as 10.100.0.0/24) | write a CIDR such as 10.100.0.0/24 or fd00:100::/64",
    ]);
    assert.deepEqual(errors({} as PoolSpecInput), [
      "spec.cidr | undefined | is not a CIDR (address/prefix, such as 10.100.0.0/24) | write a CIDR such as 10.100.0.0/24 or fd00:100::/64",
    ]);
  });

  it("spec.ranges problems, IPv4 and IPv6", () => {
    assert.deepEqual(
      errors({
        cidr: "10.100.0.0/24",
        ranges: ["10.100.0.9-10.100.0.1", "x", "10.100.0.1-10.100.1.1", "10.100.0.1-fd00::1", 5 as unknown as string],
      }),
      [
        "spec.ranges[0] | 10.100.0.9-10.100.0.1 | is reversed: 10.100.0.1 comes before 10.100.0.9 | write 10.100.0.1-10.100.0.9",
        "spec.ranges[1] | x | is not an address or a range of addresses | write one address or two joined by '-', such as 10.100.0.10-10.100.0.200",
        "spec.ranges[2] | 10.100.0.1-10.100.1.1 | reaches outside spec.cidr 10.100.0.0/24 | keep it within 10.100.0.0-10.100.0.255",
        "spec.ranges[3] | 10.100.0.1-fd00::1 | is IPv6 but spec.cidr 10.100.0.0/24 is IPv4 | use IPv4 addresses inside 10.100.0.0/24; IPv6 addresses belong in a separate IPv6 pool",
        "spec.ranges[4] | 5 | is not an address or a range of addresses | write one address or two joined by '-', such as 10.100.0.10-10.100.0.200",
      ],
    );
    assert.deepEqual(errors({ cidr: "fd00:100::/64", ranges: ["fd00:100::1-fd00:100::2-fd00:100::3", "10.0.0.1", "fd00:101::1"] }), [
      "spec.ranges[0] | fd00:100::1-fd00:100::2-fd00:100::3 | is not an address or a range of addresses | write one address or two joined by '-', such as fd00:100::10-fd00:100::ff",
      "spec.ranges[1] | 10.0.0.1 | is IPv4 but spec.cidr fd00:100::/64 is IPv6 | use IPv6 addresses inside fd00:100::/64; IPv4 addresses belong in a separate IPv4 pool",
      "spec.ranges[2] | fd00:101::1 | reaches outside spec.cidr fd00:100::/64 | keep it within fd00:100::-fd00:100::ffff:ffff:ffff:ffff",
    ]);
    assert.equal(validatePoolSpec({ cidr: "10.100.0.0/24", ranges: [5 as unknown as string] })[0].value, "5");
    // A range that starts below the CIDR reaches outside as well.
    assert.deepEqual(errors({ cidr: "10.100.0.0/24", ranges: ["10.99.255.255-10.100.0.5"] }), [
      "spec.ranges[0] | 10.99.255.255-10.100.0.5 | reaches outside spec.cidr 10.100.0.0/24 | keep it within 10.100.0.0-10.100.0.255",
    ]);
  });

  it("spec.exclude and spec.gateway problems", () => {
    assert.deepEqual(
      errors({ cidr: "10.100.0.0/24", exclude: ["10.100.0.65/28", "ten", "fd00::/64", 7 as unknown as string], gateway: "10.100.0" }),
      [
        "spec.gateway | 10.100.0 | is not an IP address | write one address inside 10.100.0.0/24, such as 10.100.0.1",
        "spec.exclude[0] | 10.100.0.65/28 | has host bits set | write 10.100.0.64/28",
        "spec.exclude[1] | ten | is neither an address nor a CIDR | write an address (10.100.0.50) or a CIDR (10.100.0.64/28)",
        "spec.exclude[2] | fd00::/64 | is IPv6 but spec.cidr 10.100.0.0/24 is IPv4 | use IPv4 addresses inside 10.100.0.0/24; IPv6 addresses belong in a separate IPv6 pool",
        "spec.exclude[3] | 7 | is neither an address nor a CIDR | write an address (10.100.0.50) or a CIDR (10.100.0.64/28)",
      ],
    );
    assert.deepEqual(errors({ cidr: "10.100.0.0/24", gateway: "10.101.0.1" }), [
      "spec.gateway | 10.101.0.1 | is outside spec.cidr 10.100.0.0/24 | pick an address inside 10.100.0.0/24, such as 10.100.0.1",
    ]);
    assert.deepEqual(errors({ cidr: "10.100.0.0/24", gateway: "10.99.255.255" }), [
      "spec.gateway | 10.99.255.255 | is outside spec.cidr 10.100.0.0/24 | pick an address inside 10.100.0.0/24, such as 10.100.0.1",
    ]);
    assert.deepEqual(errors({ cidr: "fd00:100::/64", gateway: "10.0.0.1" }), [
      "spec.gateway | 10.0.0.1 | is IPv4 but spec.cidr fd00:100::/64 is IPv6 | use IPv6 addresses inside fd00:100::/64; IPv4 addresses belong in a separate IPv4 pool",
    ]);
    assert.deepEqual(errors({ cidr: "fd00:100::/64", gateway: "x" }), [
      "spec.gateway | x | is not an IP address | write one address inside fd00:100::/64, such as fd00:100::1",
    ]);
  });

  it("the gateway, the first and the last address of the CIDR are inside it", () => {
    assert.equal(poolLayout({ cidr: "10.100.0.0/24", gateway: "10.100.0.255" }).gateway, "10.100.0.255");
    assert.equal(poolLayout({ cidr: "10.100.0.0/24", gateway: "10.100.0.0" }).gateway, "10.100.0.0");
    assert.equal(poolLayout({ cidr: "FD00:100::/64", gateway: "FD00:100::1" }).gateway, "fd00:100::1");
    assert.equal(poolLayout({ cidr: "10.100.0.0/24" }).gateway, undefined);
    assert.equal(usable({ cidr: "10.100.0.0/24", ranges: ["10.100.0.0-10.100.0.255"] }), "10.100.0.1-10.100.0.254");
    assert.equal(usable({ cidr: "10.100.0.0/24", ranges: ["10.100.0.7"] }), "10.100.0.7");
    assert.equal(usable({ cidr: "10.100.0.0/24", ranges: [] }), "10.100.0.1-10.100.0.254");
  });

  it("lists reservations gateway first, then network and broadcast, then exclusions in order, clipped to the CIDR", () => {
    const l = poolLayout({
      cidr: "10.100.0.0/24",
      gateway: "10.100.0.1",
      exclude: ["10.100.0.128/25", "10.100.0.0/16", "10.100.0.9", "192.168.0.0/16"],
    });
    assert.deepEqual(
      l.reserved.map(r => `${formatIP(4, r.first)}-${formatIP(4, r.last)} ${r.reason}`),
      [
        "10.100.0.1-10.100.0.1 is the gateway of the pool",
        "10.100.0.0-10.100.0.0 is the network address of 10.100.0.0/24",
        "10.100.0.255-10.100.0.255 is the broadcast address of 10.100.0.0/24",
        "10.100.0.128-10.100.0.255 is excluded by spec.exclude[0] (10.100.0.128/25)",
        "10.100.0.0-10.100.0.255 is excluded by spec.exclude[1] (10.100.0.0/16)",
        "10.100.0.9-10.100.0.9 is excluded by spec.exclude[2] (10.100.0.9)",
      ],
    );
    assert.equal(l.capacity, 0n);
    assert.equal(l.usable.isEmpty, true);
    // An exclusion reaching below the CIDR is clipped at its network address.
    assert.deepEqual(
      poolLayout({ cidr: "10.100.0.0/24", exclude: ["10.0.0.0/8"] })
        .reserved.map(r => [formatIP(4, r.first), formatIP(4, r.last)])
        .at(-1),
      ["10.100.0.0", "10.100.0.255"],
    );
    // An exclusion of the CIDR's last address only, and of the first.
    assert.equal(usable({ cidr: "10.100.0.0/29", exclude: ["10.100.0.6", "10.100.0.1"] }), "10.100.0.2-10.100.0.5");
    // IPv6: the network address is reserved, there is no broadcast.
    const v6 = poolLayout({ cidr: "fd00::/126" });
    assert.deepEqual(
      v6.reserved.map(r => r.reason),
      ["is the network address of fd00::/126"],
    );
    assert.equal(v6.capacity, 3n);
  });

  it("prefixes with more than one host bit lose their network address; /31 and /127 do not", () => {
    assert.equal(poolLayout({ cidr: "10.0.0.0/30" }).capacity, 2n);
    assert.equal(poolLayout({ cidr: "10.0.0.0/31" }).reserved.length, 0);
    assert.equal(poolLayout({ cidr: "fd00::/127" }).reserved.length, 0);
    assert.equal(poolLayout({ cidr: "fd00::/126" }).reserved.length, 1);
  });

  it("the layout fields", () => {
    const l = poolLayout({ cidr: "10.100.0.0/24", ranges: ["10.100.0.10-10.100.0.20"] });
    assert.deepEqual(
      { family: l.family, prefix: l.prefix, cidr: l.cidr, base: l.base, last: l.last, ranges: l.ranges.toString(), capacity: l.capacity },
      {
        family: 4,
        prefix: 24,
        cidr: "10.100.0.0/24",
        base: 0x0a640000n,
        last: 0x0a6400ffn,
        ranges: `${0x0a64000an}-${0x0a640014n}`,
        capacity: 11n,
      },
    );
  });

  it("whyUnusable at the edges of the CIDR and the ranges", () => {
    const l = poolLayout({ cidr: "10.100.0.0/24", ranges: ["10.100.0.10-10.100.0.20"] });
    const why = (s: string): string | undefined => whyUnusable(l, parseIP(s))?.code;
    assert.equal(why("10.100.0.10"), undefined);
    assert.equal(why("10.100.0.20"), undefined);
    assert.equal(why("10.100.0.9"), "OutOfRange");
    assert.equal(why("10.100.0.21"), "OutOfRange");
    assert.deepEqual(whyUnusable(l, parseIP("10.100.0.255")), {
      code: "OutOfRange",
      field: "spec.ranges",
      reason: "is outside the pool's ranges (10.100.0.10-10.100.0.20)",
    });
    assert.deepEqual(whyUnusable(l, parseIP("10.101.0.0")), { code: "OutOfRange", field: "spec.cidr", reason: "is outside 10.100.0.0/24" });
    assert.deepEqual(whyUnusable(l, parseIP("10.99.255.255")), {
      code: "OutOfRange",
      field: "spec.cidr",
      reason: "is outside 10.100.0.0/24",
    });
  });
});
