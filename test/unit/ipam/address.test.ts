import assert from "node:assert/strict";
import fc from "fast-check";
import {
  InvalidAddressError,
  InvalidPoolError,
  MAX_POOL_NAME_LENGTH,
  allocationName,
  canonicalIP,
  formatIP,
  parseAllocationName,
  parseCIDR,
  parseIP,
} from "../../../capabilities/ipam";

const MAX6 = (1n << 128n) - 1n;
const isMapped = (v: bigint): boolean => v >> 32n === 0xffffn;

/** DNS-1123 labels joined by dots, short enough to leave room for the encoded address. */
const poolNameArb = fc
  .array(fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/), { minLength: 1, maxLength: 4 })
  .map(labels => labels.join("."))
  .filter(name => name.length <= MAX_POOL_NAME_LENGTH);
const ipv4Arb = fc.integer({ min: 0, max: 2 ** 32 - 1 }).map(n => formatIP(4, BigInt(n)));
const ipv6Arb = fc
  .bigInt({ min: 0n, max: MAX6 })
  .filter(v => !isMapped(v))
  .map(v => formatIP(6, v));

function assertInvalid(fn: () => unknown, value: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidAddressError, `expected InvalidAddressError, got ${String(e)}`);
    assert.equal(e.code, "InvalidAddress");
    assert.equal(e.value, value);
    assert.ok(e.message.includes(JSON.stringify(value)), e.message);
    return true;
  });
}

describe("ipam/address", () => {
  describe("parseIP", () => {
    it("parses IPv4 and IPv6 to bigint", () => {
      assert.deepEqual(parseIP("10.100.0.23"), { family: 4, value: 0x0a640017n });
      assert.deepEqual(parseIP("0.0.0.0"), { family: 4, value: 0n });
      assert.deepEqual(parseIP("255.255.255.255"), { family: 4, value: 0xffffffffn });
      assert.deepEqual(parseIP("fd00::17"), { family: 6, value: (0xfd00n << 112n) | 0x17n });
      assert.deepEqual(parseIP("FD00:0:0:0:0:0:0:17"), { family: 6, value: (0xfd00n << 112n) | 0x17n });
      assert.deepEqual(parseIP("::"), { family: 6, value: 0n });
      assert.deepEqual(parseIP("64:ff9b::10.0.0.1"), { family: 6, value: (0x64ff9bn << 96n) | 0x0a000001n });
    });

    it("refuses everything that is not one bare address, naming the value", () => {
      for (const bad of [
        "",
        "10.0.0",
        "10.0.0.256",
        "010.0.0.1",
        " 10.0.0.1",
        "10.0.0.1 ",
        "10.0.0.1/24",
        "fd00::1/64",
        "fe80::1%eth0",
        "[fd00::1]",
        "fd00::g",
        "1:2:3:4:5:6:7:8:9",
        "hello",
        "::ffff:10.0.0.1",
        "::ffff:a00:1",
      ]) {
        assertInvalid(() => parseIP(bad), bad);
      }
    });

    it("throws only InvalidAddressError on arbitrary text, and agrees with formatIP when it parses", () => {
      const ipish = fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF:./% -"), maxLength: 45 });
      fc.assert(
        fc.property(fc.oneof(fc.string(), ipish), s => {
          try {
            const ip = parseIP(s);
            assert.equal(parseIP(formatIP(ip.family, ip.value)).value, ip.value);
          } catch (e) {
            assert.ok(e instanceof InvalidAddressError, String(e));
          }
          try {
            parseCIDR(s);
          } catch (e) {
            assert.ok(e instanceof InvalidAddressError, String(e));
          }
        }),
        { numRuns: 2000 },
      );
    });

    it("puts the field path in the message when given", () => {
      assert.throws(() => parseIP("nope", "spec.gateway"), /^InvalidAddressError: spec\.gateway: "nope" is not/);
    });
  });

  describe("formatIP", () => {
    it("writes canonical text: IPv6 compressed and lowercase (RFC 5952)", () => {
      assert.equal(formatIP(4, 0x0a640017n), "10.100.0.23");
      assert.equal(canonicalIP("FD00:0000:0000:0000:0000:0000:0000:0017"), "fd00::17");
      assert.equal(canonicalIP("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
      assert.equal(canonicalIP("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
      assert.equal(canonicalIP("0:0:0:0:0:0:0:0"), "::");
    });

    it("round-trips through parseIP for every address", () => {
      fc.assert(
        fc.property(fc.oneof(ipv4Arb, ipv6Arb), s => {
          const ip = parseIP(s);
          assert.equal(formatIP(ip.family, ip.value), s);
        }),
      );
    });
  });

  describe("parseCIDR", () => {
    it("returns base, prefix, size and last", () => {
      assert.deepEqual(parseCIDR("10.100.0.0/24"), { family: 4, base: 0x0a640000n, prefix: 24, size: 256n, last: 0x0a6400ffn });
      assert.deepEqual(parseCIDR("10.0.0.7/32"), { family: 4, base: 0x0a000007n, prefix: 32, size: 1n, last: 0x0a000007n });
      assert.deepEqual(parseCIDR("0.0.0.0/0"), { family: 4, base: 0n, prefix: 0, size: 1n << 32n, last: 0xffffffffn });
      const v6 = parseCIDR("fd00:100::/64");
      assert.equal(v6.family, 6);
      assert.equal(v6.size, 1n << 64n);
      assert.equal(formatIP(6, v6.last), "fd00:100::ffff:ffff:ffff:ffff");
    });

    it("refuses host bits, with the canonical CIDR as the fix", () => {
      assert.throws(
        () => parseCIDR("10.100.0.7/24", "spec.cidr"),
        (e: unknown) => {
          assert.ok(e instanceof InvalidAddressError);
          assert.equal(e.fix, "write 10.100.0.0/24");
          assert.equal(e.field, "spec.cidr");
          return true;
        },
      );
      assert.throws(() => parseCIDR("fd00::1/64"), /write fd00::\/64/);
    });

    it("refuses malformed CIDRs", () => {
      for (const bad of ["10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/024", "10.0.0.0/+8", "fd00::/129", "x/8", "10.0.0.0/8/8"]) {
        assertInvalid(() => parseCIDR(bad), bad);
      }
    });
  });

  describe("allocation names", () => {
    it("encodes IPv4 as dashed decimal and IPv6 as 8 expanded groups", () => {
      assert.equal(allocationName("tenant-a-vlan100", "10.100.0.23"), "tenant-a-vlan100.10-100-0-23");
      assert.equal(allocationName("v6", "fd00::17"), "v6.fd00-0000-0000-0000-0000-0000-0000-0017");
      assert.equal(allocationName("a.b.c", "0.0.0.0"), "a.b.c.0-0-0-0");
    });

    it("gives one name per address, whatever its spelling", () => {
      assert.equal(allocationName("p", "FD00:0::17"), allocationName("p", "fd00::17"));
    });

    it("reverses by splitting on the last dot", () => {
      assert.deepEqual(parseAllocationName("a.b.c.10-100-0-23"), { pool: "a.b.c", address: "10.100.0.23" });
      assert.deepEqual(parseAllocationName("v6.fd00-0000-0000-0000-0000-0000-0000-0017"), { pool: "v6", address: "fd00::17" });
    });

    it("refuses names it did not make", () => {
      for (const bad of [
        "pool",
        "pool.",
        ".10-0-0-1",
        "pool.10-0-0",
        "pool.10-0-0-256",
        "pool.010-0-0-1",
        "Pool.10-0-0-1",
        "pool.FD00-0000-0000-0000-0000-0000-0000-0017",
        "pool.fd00-0-0-0-0-0-0-17",
        "pool.0000-0000-0000-0000-0000-ffff-0a00-0001",
        "pool.10.0.0.1",
      ]) {
        assertInvalid(() => parseAllocationName(bad), bad);
      }
    });

    it("refuses pool names that cannot form an object name", () => {
      for (const bad of ["Upper", "-lead", "trail-", "a..b", "", "a".repeat(MAX_POOL_NAME_LENGTH + 1)]) {
        assert.throws(() => allocationName(bad, "10.0.0.1"), InvalidPoolError);
      }
      assert.ok(allocationName("a".repeat(MAX_POOL_NAME_LENGTH), "fd00::1").length <= 253);
    });

    it("round-trips any pool and address, and stays a DNS-1123 subdomain", () => {
      const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
      fc.assert(
        fc.property(poolNameArb, fc.oneof(ipv4Arb, ipv6Arb), (pool, address) => {
          const name = allocationName(pool, address);
          assert.ok(name.length <= 253 && dns1123.test(name), name);
          assert.deepEqual(parseAllocationName(name), { pool, address });
        }),
        { numRuns: 500 },
      );
    });

    it("never gives two addresses one name", () => {
      fc.assert(
        fc.property(fc.oneof(ipv4Arb, ipv6Arb), fc.oneof(ipv4Arb, ipv6Arb), (a, b) => {
          assert.equal(allocationName("p", a) === allocationName("p", b), a === b);
        }),
      );
    });
  });
});
