import assert from "node:assert/strict";
import fc from "fast-check";
import { InvalidAddressError, formatIP, isValidUnicastMac, macFor, macKey, normalizeMac, parseIP } from "../../../capabilities/ipam";

const MAX6 = (1n << 128n) - 1n;

describe("ipam/mac", () => {
  it("derives 02:00 + the IPv4 bytes", () => {
    assert.equal(macFor("10.100.0.23"), "02:00:0a:64:00:17");
    assert.equal(macFor("255.255.255.255"), "02:00:ff:ff:ff:ff");
    assert.equal(macFor(parseIP("0.0.0.1")), "02:00:00:00:00:01");
  });

  it("derives 0a + the low 40 bits of IPv6", () => {
    assert.equal(macFor("fd00::17"), "0a:00:00:00:00:17");
    assert.equal(macFor("fd00::100:0:17"), "0a:00:00:00:00:17");
    assert.equal(macFor("fd00::ab:cdef:1234"), "0a:ab:cd:ef:12:34");
    assert.equal(macFor("fd00::ffff:ffff:ffff:ffff"), "0a:ff:ff:ff:ff:ff");
  });

  it("macKey is the address for IPv4 and the low 40 bits for IPv6", () => {
    assert.equal(macKey(4, 0x0a640017n), 0x0a640017n);
    assert.equal(macKey(6, parseIP("fd00::100:0:17").value), 0x17n);
  });

  it("refuses text that is not an address", () => {
    assert.throws(() => macFor("10.0.0"), InvalidAddressError);
  });

  it("isValidUnicastMac", () => {
    for (const ok of ["02:00:0a:64:00:17", "0A:00:00:00:00:01", "00:00:00:00:00:01", "fe:ff:ff:ff:ff:ff"])
      assert.equal(isValidUnicastMac(ok), true, ok);
    for (const bad of [
      "01:00:5e:00:00:01",
      "ff:ff:ff:ff:ff:ff",
      "00:00:00:00:00:00",
      "02-00-0a-64-00-17",
      "02:00:0a:64:00",
      "02:00:0a:64:00:17:00",
      "2:0:a:64:0:17",
      "02:00:0a:64:00:1g",
      "",
      " 02:00:0a:64:00:17",
    ]) {
      assert.equal(isValidUnicastMac(bad), false, bad);
    }
  });

  it("normalizeMac lowercases and accepts '-' separators", () => {
    assert.equal(normalizeMac("0A-64-00-00-00-17"), "0a:64:00:00:00:17");
    assert.equal(normalizeMac("02:00:0A:64:00:17"), "02:00:0a:64:00:17");
    for (const bad of ["02:00-0a:64:00:17", "02:00:0a:64:00", "0200.0a64.0017", ""]) {
      assert.throws(
        () => normalizeMac(bad),
        (e: unknown) => e instanceof InvalidAddressError && e.value === bad,
      );
    }
  });

  it("every derived MAC is a valid unicast, locally administered MAC", () => {
    const addr = fc.oneof(
      fc.integer({ min: 0, max: 2 ** 32 - 1 }).map(n => formatIP(4, BigInt(n))),
      fc
        .bigInt({ min: 0n, max: MAX6 })
        .filter(v => v >> 32n !== 0xffffn)
        .map(v => formatIP(6, v)),
    );
    fc.assert(
      fc.property(addr, a => {
        const mac = macFor(a);
        assert.ok(isValidUnicastMac(mac), mac);
        assert.equal(parseInt(mac.slice(0, 2), 16) & 2, 2, "locally administered bit");
        assert.equal(normalizeMac(mac), mac);
      }),
    );
  });

  it("MACs are equal exactly when the MAC keys are", () => {
    const v4 = fc.integer({ min: 0, max: 2 ** 32 - 1 }).map(BigInt);
    fc.assert(
      fc.property(v4, v4, (a, b) => {
        assert.equal(macFor({ family: 4, value: a }) === macFor({ family: 4, value: b }), a === b);
      }),
    );
    // Small high parts and low parts so that equal keys actually occur.
    const v6 = fc
      .tuple(fc.bigInt({ min: 0n, max: 3n }), fc.bigInt({ min: 0n, max: 3n }))
      .map(([hi, lo]) => (0xfd00n << 112n) | (hi << 40n) | lo);
    fc.assert(
      fc.property(v6, v6, (a, b) => {
        assert.equal(macFor({ family: 6, value: a }) === macFor({ family: 6, value: b }), macKey(6, a) === macKey(6, b));
      }),
    );
    // IPv4- and IPv6-derived MACs never collide (different first byte).
    assert.notEqual(macFor("0.0.0.23").slice(0, 2), macFor("::17").slice(0, 2));
  });
});
