// The address core's error texts and edge values, written out by hand: admission denials and
// claim conditions show these reasons to people, so each path is pinned (mutation testing showed
// which ones the round-trip properties let through).
import assert from "node:assert/strict";
import {
  InvalidAddressError,
  InvalidPoolError,
  MAX_POOL_NAME_LENGTH,
  allocationName,
  canonicalIP,
  familyBits,
  formatCIDR,
  maxValue,
  parseAllocationName,
  parseCIDR,
  parseIP,
  prefixSize,
} from "../../../capabilities/ipam";

function reasonOf(fn: () => unknown): { value: string; reason: string; field?: string; fix?: string; message: string } {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InvalidAddressError, String(e));
    return {
      value: e.value,
      reason: e.reason,
      ...(e.field === undefined ? {} : { field: e.field }),
      ...(e.fix === undefined ? {} : { fix: e.fix }),
      message: e.message,
    };
  }
  assert.fail("no error");
}

describe("ipam/address, every path", () => {
  it("family widths and limits", () => {
    assert.equal(familyBits(4), 32);
    assert.equal(familyBits(6), 128);
    assert.equal(maxValue(4), 0xffffffffn);
    assert.equal(maxValue(6), 0xffffffffffffffffffffffffffffffffn);
    assert.equal(prefixSize(4, 24), 256n);
    assert.equal(prefixSize(4, 32), 1n);
    assert.equal(prefixSize(6, 64), 1n << 64n);
    assert.equal(formatCIDR(6, 0xfd000100000000000000000000000000n, 64), "fd00:100::/64");
  });

  it("parseIP says which kind of text it expected", () => {
    const notIP = "is not an IP address";
    const notV4 = "is not an IPv4 address (four decimal numbers 0-255, no leading zeros)";
    const notV46 = "is not an IPv4 or IPv6 address (no prefix length or zone)";
    assert.deepEqual(
      reasonOf(() => parseIP("")),
      { value: "", reason: notIP, message: `"" ${notIP}` },
    );
    assert.equal(reasonOf(() => parseIP(undefined as unknown as string)).reason, notIP);
    assert.equal(reasonOf(() => parseIP(7 as unknown as string)).value, "7");
    // 65 characters is too long for any address; 64 is still parsed (and refused for what it is).
    assert.equal(reasonOf(() => parseIP("1".repeat(65))).reason, notIP);
    assert.equal(reasonOf(() => parseIP("1".repeat(64))).reason, notV4);
    assert.equal(reasonOf(() => parseIP("10.0.0.256")).reason, notV4);
    assert.equal(reasonOf(() => parseIP("10.0.0.1.")).reason, notV4);
    assert.equal(reasonOf(() => parseIP("fd00::1/64")).reason, notV46);
    assert.equal(reasonOf(() => parseIP("fe80::1%eth0")).reason, notV46);
    assert.equal(reasonOf(() => parseIP("hello")).reason, notV46);
    assert.equal(reasonOf(() => parseIP("ab")).reason, notV46);
    assert.equal(reasonOf(() => parseIP("::ffff:10.0.0.1")).reason, "is an IPv4-mapped IPv6 address");
    assert.deepEqual(
      reasonOf(() => parseIP("x", "spec.gateway")),
      { value: "x", reason: notV46, field: "spec.gateway", message: `spec.gateway: "x" ${notV46}` },
    );
    // Neighbours of the IPv4-mapped block are ordinary IPv6 addresses.
    assert.equal(parseIP("::fffe:a00:1").family, 6);
    assert.equal(parseIP("::1:ffff:a00:1").family, 6);
    assert.equal(parseIP("1".repeat(3) + ".0.0.1").value, 0x6f000001n);
  });

  it("parseCIDR: shape, prefix length per family, host bits", () => {
    const notCIDR = "is not a CIDR (address/prefix, such as 10.100.0.0/24)";
    const badAddr = "is not a CIDR (address/prefix, such as 10.100.0.0/24 or fd00:100::/64)";
    assert.equal(reasonOf(() => parseCIDR("10.0.0.0")).reason, notCIDR);
    assert.equal(reasonOf(() => parseCIDR("/24")).reason, badAddr, "a slash with nothing before it is a CIDR without an address");
    assert.equal(reasonOf(() => parseCIDR(5 as unknown as string)).reason, notCIDR);
    assert.deepEqual(
      reasonOf(() => parseCIDR("10.0.0/8", "spec.cidr")),
      { value: "10.0.0/8", reason: badAddr, field: "spec.cidr", message: `spec.cidr: "10.0.0/8" ${badAddr}` },
    );
    assert.equal(reasonOf(() => parseCIDR("10.0.0.0/33")).reason, "has an invalid prefix length; IPv4 prefixes are 0-32");
    assert.equal(reasonOf(() => parseCIDR("fd00::/129")).reason, "has an invalid prefix length; IPv6 prefixes are 0-128");
    assert.equal(reasonOf(() => parseCIDR("10.0.0.0/1000")).reason, "has an invalid prefix length; IPv4 prefixes are 0-32");
    assert.equal(reasonOf(() => parseCIDR("10.0.0.0/08")).reason, "has an invalid prefix length; IPv4 prefixes are 0-32");
    assert.equal(parseCIDR("fd00::/128").size, 1n);
    assert.equal(parseCIDR("::/0").last, maxValue(6));
    assert.deepEqual(parseCIDR("10.0.0.0/8"), { family: 4, base: 0x0a000000n, prefix: 8, size: 1n << 24n, last: 0x0affffffn });
    assert.deepEqual(
      reasonOf(() => parseCIDR("10.0.0.1/31")),
      {
        value: "10.0.0.1/31",
        reason: "has host bits set",
        fix: "write 10.0.0.0/31",
        message: '"10.0.0.1/31" has host bits set; write 10.0.0.0/31',
      },
    );
    assert.equal(reasonOf(() => parseCIDR("255.255.255.255/0")).fix, "write 0.0.0.0/0");
    assert.equal(reasonOf(() => parseCIDR("fd00::1:0/96")).fix, "write fd00::/96");
  });

  it("canonical spelling", () => {
    assert.equal(canonicalIP("FD00:0:0::17"), "fd00::17");
    assert.equal(canonicalIP("10.1.2.3"), "10.1.2.3");
    assert.equal(reasonOf(() => canonicalIP("nope", "spec.gateway")).field, "spec.gateway");
  });

  it("allocation names: encodings, pool-name limits, and what parseAllocationName refuses", () => {
    assert.equal(allocationName("p", "0.0.0.0"), "p.0-0-0-0");
    assert.equal(allocationName("p", "255.255.255.255"), "p.255-255-255-255");
    assert.equal(allocationName("p", "::"), "p.0000-0000-0000-0000-0000-0000-0000-0000");
    assert.equal(allocationName("p", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "p.ffff-ffff-ffff-ffff-ffff-ffff-ffff-ffff");
    assert.equal(MAX_POOL_NAME_LENGTH, 213);
    const longest = "a".repeat(213);
    assert.equal(allocationName(longest, "ffff::1").length, 253);
    assert.throws(
      () => allocationName("a".repeat(214), "10.0.0.1"),
      (e: unknown) =>
        e instanceof InvalidPoolError &&
        e.field === "metadata.name" &&
        e.value === "a".repeat(214) &&
        e.reason === "cannot name IPAllocation records" &&
        e.fix === "use a lowercase DNS-1123 name of at most 213 characters (letters, digits, '-', '.')",
    );
    assert.throws(
      () => allocationName(5 as unknown as string, "10.0.0.1"),
      (e: unknown) => e instanceof InvalidPoolError && e.value === "5",
    );
    for (const ok of ["a", "0", "a-b", "a.b-c.d", "a1.b2"]) assert.equal(allocationName(ok, "10.0.0.1"), `${ok}.10-0-0-1`);
    for (const bad of ["a_b", "a.", ".a", "a.-b", "a-.b", "A"]) assert.throws(() => allocationName(bad, "10.0.0.1"), InvalidPoolError, bad);
    assert.throws(() => allocationName("p", "10.0.0"), InvalidAddressError);

    assert.deepEqual(parseAllocationName("a.b.0-0-0-0"), { pool: "a.b", address: "0.0.0.0" });
    assert.deepEqual(parseAllocationName("p.255-255-255-255"), { pool: "p", address: "255.255.255.255" });
    assert.deepEqual(parseAllocationName("p.fd00-0000-0000-0000-0000-0000-0000-abcd"), { pool: "p", address: "fd00::abcd" });
    const refusal = (name: unknown): string => reasonOf(() => parseAllocationName(name as string)).reason;
    const notName = "is not an IPAllocation name (<pool>.<address with '-' for separators>)";
    for (const bad of [
      undefined,
      5,
      "p.1000-0-0-1",
      "p.1-0-0-1-5",
      "p.00-0-0-1",
      "p.-0-0-0-1",
      "p.0-0-0-1-",
      "p_q.10-0-0-1",
      "p..10-0-0-1",
      "p.fd00-0000-0000-0000-0000-0000-0000-00170",
      "p.gd00-0000-0000-0000-0000-0000-0000-0017",
      "p.fd00-0000-0000-0000-0000-0000-0000",
      "p.fd00-0000-0000-0000-0000-0000-0000-0017-0000",
      "x.fd00-0000-0000-0000-0000-0000-0000-0017x",
      "x.a10-0-0-1",
    ]) {
      assert.equal(refusal(bad), notName, String(bad));
    }
    assert.equal(reasonOf(() => parseAllocationName("p.1000-0-0-1")).value, "p.1000-0-0-1");
  });
});
