// capabilities/ipam's address rules as `kubectl vmnet check` uses them (ipamRules), held against
// the reference model of test/reference/ipam.ts (written from DESIGN.md): the two must agree on
// every address of random pools, so neither can drift without a test failing.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ipamRules } from "../../../capabilities/audit/rules";
import { formatIP } from "../../../capabilities/ipam";
import { inCidr, refMac, refParse, refWhyNot, RefPool, sameIP } from "../../reference/ipam";

/** Random pools over a 32-address CIDR (offsets written as text, so the arbitrary shares no code with ipam). */
const poolArb = fc
  .record({
    family: fc.constantFrom<4 | 6>(4, 6),
    ranges: fc.option(fc.array(fc.tuple(fc.nat(31), fc.nat(31)), { minLength: 1, maxLength: 2 }), { nil: undefined }),
    exclude: fc.array(fc.nat(31), { maxLength: 3 }),
    block: fc.option(fc.nat(7), { nil: undefined }),
    gateway: fc.option(fc.nat(31), { nil: undefined }),
  })
  .map(({ family, ranges, exclude, block, gateway }) => {
    const a = (off: number): string => (family === 4 ? `10.9.0.${off}` : `fd00:9::${off.toString(16)}`);
    const pool: RefPool = {
      cidr: family === 4 ? "10.9.0.0/27" : "fd00:9::/123",
      ranges: ranges?.map(([x, y]) => `${a(Math.min(x, y))}-${a(Math.max(x, y))}`),
      exclude: [
        ...exclude.map(a),
        ...(block === undefined ? [] : [family === 4 ? `10.9.0.${block * 4}/30` : `fd00:9::${(block * 4).toString(16)}/126`]),
      ],
      gateway: gateway === undefined ? undefined : a(gateway),
    };
    return { family, pool, a };
  });

describe("audit address rules (ipamRules) against the reference model", () => {
  it("agree on which addresses of a pool may be handed out", () => {
    fc.assert(
      fc.property(poolArb, fc.integer({ min: -1, max: 33 }), ({ family, pool, a }, off) => {
        // -1 and 32, 33 fall outside the CIDR (the neighbouring addresses).
        const address =
          off < 0
            ? family === 4
              ? "10.8.255.255"
              : "fd00:8:ffff:ffff:ffff:ffff:ffff:ffff"
            : off > 31
              ? family === 4
                ? `10.9.0.${off}`
                : `fd00:9::${off.toString(16)}`
              : a(off);
        const ref = refWhyNot(pool, address);
        const got = ipamRules.whyNot(pool, address);
        assert.equal(got === undefined, ref === undefined, `${address} in ${JSON.stringify(pool)}: ipam says ${got}, reference ${ref}`);
      }),
      { numRuns: 400 },
    );
  });

  it("words the reasons the checker prints", () => {
    const pool = { cidr: "10.9.0.0/24", ranges: ["10.9.0.10-10.9.0.100"], exclude: ["10.9.0.50"], gateway: "10.9.0.11" };
    assert.equal(ipamRules.whyNot(pool, "10.9.0.20"), undefined);
    assert.equal(ipamRules.whyNot(pool, "10.9.0.20/24"), undefined, "a /prefix is ignored");
    assert.equal(ipamRules.whyNot(pool, "10.9.0.11"), "is the gateway of the pool");
    assert.equal(ipamRules.whyNot(pool, "10.9.0.50"), "is excluded by spec.exclude[0] (10.9.0.50)");
    assert.equal(ipamRules.whyNot(pool, "10.9.0.101"), "is outside the pool's ranges (10.9.0.10-10.9.0.100)");
    assert.equal(ipamRules.whyNot(pool, "10.9.1.1"), "is outside 10.9.0.0/24");
    assert.equal(ipamRules.whyNot(pool, "nonsense"), "is not an address");
    assert.equal(ipamRules.whyNot({ cidr: "10.9.0.7/24" }, "10.9.0.8"), "is in a pool whose spec is invalid");
  });

  it("parse, inCidr and sameIP agree with the reference on well-formed and malformed text", () => {
    const cases = ["10.9.0.1", "10.9.0.1/24", "FD00:9::1", "fd00:9:0::1/64", "10.9.0.256", "::1", "x", "", "10.9.1.0"];
    const cidrs = ["10.9.0.0/24", "fd00:9::/64", "10.9.0.0/33", "garbage", "10.9.0.1/24"];
    for (const x of cases) {
      assert.deepEqual(ipamRules.parse(x), refParse(x), `parse ${x}`);
      for (const c of cidrs) if (c !== "10.9.0.1/24") assert.equal(ipamRules.inCidr(x, c), inCidr(x, c), `${x} in ${c}`);
      for (const y of cases) assert.equal(ipamRules.sameIP(x, y), sameIP(x, y), `${x} = ${y}`);
    }
    assert.equal(ipamRules.inCidr("10.9.0.0", "10.9.0.0/24"), true, "the network address is inside");
    assert.equal(ipamRules.inCidr("10.9.0.255", "10.9.0.0/24"), true, "the last address is inside");
    assert.equal(ipamRules.inCidr("10.9.1.0", "10.9.0.0/24"), false);
    assert.equal(ipamRules.inCidr("10.8.255.255", "10.9.0.0/24"), false);
    assert.equal(ipamRules.inCidr("::a09:1", "10.9.0.0/24"), false, "another family");
    assert.equal(ipamRules.inCidr("10.9.0.1", "10.9.0.1/24"), false, "a CIDR with host bits set is none");
  });

  it("derive the MAC from the IPv4 address when there is one, in any order, else the IPv6 one", () => {
    const v6 = (n: bigint): string => formatIP(6, (0xfd00n << 112n) | n);
    fc.assert(
      fc.property(fc.nat(2 ** 32 - 1), fc.bigInt({ min: 0n, max: (1n << 48n) - 1n }), fc.boolean(), (v4n, v6n, v4First) => {
        const v4 = `${v4n >>> 24}.${(v4n >>> 16) & 255}.${(v4n >>> 8) & 255}.${v4n & 255}/24`;
        const both = v4First ? [v4, `${v6(v6n)}/64`] : [`${v6(v6n)}/64`, v4];
        assert.equal(ipamRules.mac(both), refMac(both));
        assert.equal(ipamRules.mac([`${v6(v6n)}/64`]), refMac([v6(v6n)]));
      }),
      { numRuns: 300 },
    );
    assert.equal(ipamRules.mac(["fd00::17/64", "10.100.0.23/24"]), "02:00:0a:64:00:17");
    assert.equal(ipamRules.mac(["fd00::ab:cdef:1234"]), "0a:ab:cd:ef:12:34");
    assert.equal(ipamRules.mac(["junk", "fd00::17"]), "0a:00:00:00:00:17");
    assert.equal(ipamRules.mac(["junk"]), undefined);
    assert.equal(ipamRules.mac([]), undefined);
  });
});
