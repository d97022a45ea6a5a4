// The reference model of test/reference/ipam.ts against the examples DESIGN.md and the README give.
import assert from "node:assert/strict";
import { inCidr, refMac, refParse, refWhyNot, sameIP } from "../../reference/ipam";

describe("reference model of the address rules", () => {
  it("derives MACs as DESIGN says: 02:00 + IPv4, else 0a + the low 40 bits of IPv6; IPv4 wins on dual stack", () => {
    assert.equal(refMac(["10.100.0.23/24"]), "02:00:0a:64:00:17");
    assert.equal(refMac(["fd00::17"]), "0a:00:00:00:00:17");
    assert.equal(refMac(["fd00:210::ab:cdef:1234/64"]), "0a:ab:cd:ef:12:34"); // low 40 bits: ab cd ef 12 34
    assert.equal(refMac(["fd00::17/64", "10.100.0.23/24"]), "02:00:0a:64:00:17");
    assert.equal(refMac([]), undefined);
  });

  it("parses IPv4, IPv6 with :: and an embedded IPv4 tail, and refuses junk", () => {
    assert.deepEqual(refParse("10.0.0.1/24"), { family: 4, value: 0x0a000001n });
    assert.deepEqual(refParse("::1"), { family: 6, value: 1n });
    assert.deepEqual(refParse("::ffff:10.0.0.1"), { family: 6, value: 0xffff0a000001n });
    assert.deepEqual(refParse("fd00:0:0:0:0:0:0:17"), refParse("FD00::17"));
    for (const junk of ["10.0.0.256", "10.0.0", "1::2::3", "fd00::g", "", "1:2:3:4:5:6:7:8:9"])
      assert.equal(refParse(junk), undefined, junk);
    assert.ok(sameIP("fd00:0::17", "FD00::17/64"));
    assert.ok(!sameIP("10.0.0.1", "::a00:1"));
  });

  it("keeps the pool rules of the IPPool example: cidr, ranges, gateway, exclude, network and broadcast", () => {
    const pool = {
      cidr: "10.100.0.0/24",
      ranges: ["10.100.0.10-10.100.0.200"],
      exclude: ["10.100.0.50", "10.100.0.64/28"],
      gateway: "10.100.0.1",
    };
    assert.equal(refWhyNot(pool, "10.100.0.23"), undefined);
    assert.equal(refWhyNot(pool, "10.100.0.1"), "is the gateway");
    assert.match(String(refWhyNot(pool, "10.100.0.50")), /excluded/);
    assert.match(String(refWhyNot(pool, "10.100.0.79")), /excluded \(10.100.0.64\/28\)/);
    assert.equal(refWhyNot(pool, "10.100.0.80"), undefined);
    assert.match(String(refWhyNot(pool, "10.100.0.201")), /outside the ranges/);
    assert.match(String(refWhyNot(pool, "10.100.1.1")), /outside 10.100.0.0\/24/);
    assert.equal(refWhyNot({ cidr: "10.100.0.0/24" }, "10.100.0.0"), "is the network address");
    assert.equal(refWhyNot({ cidr: "10.100.0.0/24" }, "10.100.0.255"), "is the broadcast address");
    assert.equal(refWhyNot({ cidr: "10.100.0.0/31" }, "10.100.0.0"), undefined);
    assert.equal(refWhyNot({ cidr: "fd00::/64" }, "fd00::"), "is the network address");
    assert.equal(refWhyNot({ cidr: "fd00::/64" }, "fd00::ffff:ffff:ffff:ffff"), undefined);
    assert.ok(inCidr("fd00::17", "fd00::/64") && !inCidr("10.0.0.1", "fd00::/64"));
  });
});
