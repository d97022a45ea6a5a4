import assert from "node:assert/strict";
import fc from "fast-check";
import { firstSyntaxError, parseJson } from "../../../capabilities/domain/json";
import { formatIP, parseIP as ipamParseIP } from "../../../capabilities/ipam/address";
import { InvalidAddressError } from "../../../capabilities/ipam/errors";
import { containsIP, parseCIDR, parseIP, parseSpan, readCIDR, readIP } from "../../../capabilities/domain/net";
import { parseNetworkRef, parseUnicastMac } from "../../../capabilities/domain/names";

describe("domain/net (ipam's parser, as values)", () => {
  it("parses bare addresses canonically and refuses prefixes and zones", () => {
    assert.deepEqual(parseIP("10.0.0.1"), { family: 4, value: 0x0a000001n, text: "10.0.0.1" });
    assert.equal(parseIP("FD00:0::1")?.text, "fd00::1");
    for (const bad of ["10.0.0.1/24", "fe80::1%eth0", "010.0.0.1", "1.2.3", "", 5, null])
      assert.equal(parseIP(bad), undefined, String(bad));
  });

  it("refuses an IPv4-mapped IPv6 address as the binder does, and says what to write", () => {
    // Admission once read ::ffff:10.100.0.23 as ::ffff:a64:17 and admitted what the binder refuses.
    assert.equal(parseIP("::ffff:10.100.0.23"), undefined);
    assert.deepEqual(readIP("::ffff:10.100.0.23"), {
      error: "is an IPv4-mapped IPv6 address",
      fix: "write the IPv4 address itself (10.100.0.23)",
    });
    assert.throws(() => ipamParseIP("::ffff:10.100.0.23"), InvalidAddressError);
  });

  it("agrees with ipam on every address text it is given", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()), s => {
        let ipam: string | undefined;
        try {
          const p = ipamParseIP(s);
          ipam = formatIP(p.family, p.value);
        } catch {
          ipam = undefined;
        }
        assert.equal(parseIP(s)?.text, ipam, s);
      }),
      { numRuns: 2000 },
    );
  });

  it("parses CIDRs with their first and last address, refusing host bits with the canonical form as the fix", () => {
    const c = parseCIDR("10.100.0.0/24");
    assert.deepEqual(c && [c.first, c.last, c.prefix, c.text], [0x0a640000n, 0x0a6400ffn, 24, "10.100.0.0/24"]);
    assert.equal(parseCIDR("fd00:100::/64")?.last, 0xfd00010000000000ffffffffffffffffn);
    assert.deepEqual(readCIDR("10.100.0.7/24"), { error: "has host bits set", fix: "write 10.100.0.0/24" });
    for (const bad of ["10.0.0.0", "10.0.0.0/33", "fd00::/129", "x/8", "10.0.0.0/", "10.100.0.7/24"])
      assert.equal(parseCIDR(bad), undefined, bad);
  });

  it("reads ranges as spans", () => {
    assert.deepEqual(parseSpan("10.0.0.5-10.0.0.9"), { family: 4, first: 0x0a000005n, last: 0x0a000009n });
    assert.deepEqual(parseSpan("10.0.0.5"), { family: 4, first: 0x0a000005n, last: 0x0a000005n });
    for (const bad of ["10.0.0.9-10.0.0.5", "10.0.0.1-::1", "a-b-c", "", 5]) assert.equal(parseSpan(bad), undefined, String(bad));
  });

  it("containment agrees with a string-level check on random IPv4 /24s", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), (net, ip) => {
        const c = parseCIDR(`${net.split(".").slice(0, 3).join(".")}.0/24`)!;
        const same = net.split(".").slice(0, 3).join(".") === ip.split(".").slice(0, 3).join(".");
        assert.equal(containsIP(c, parseIP(ip)!), same);
      }),
    );
  });

  it("never throws on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string(), s => {
        parseIP(s);
        parseCIDR(s);
        parseSpan(s);
        readCIDR(s);
        parseNetworkRef(s, "ns");
        parseUnicastMac(s);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("domain/json", () => {
  it("reports the line and column of the error", () => {
    const r = parseJson('{\n  "a": 1,\n  "b": tru\n}');
    assert.equal(r.ok, false);
    assert.deepEqual(r.ok ? undefined : [r.line, r.column], [3, 11]);
  });

  it("the scanner accepts exactly what JSON.parse accepts, without recursion", () => {
    const text = fc.oneof(
      fc.string(),
      fc.json(),
      fc.json().chain(j => fc.tuple(fc.nat(j.length), fc.string({ maxLength: 2 })).map(([i, x]) => j.slice(0, i) + x + j.slice(i + 1))),
    );
    fc.assert(
      fc.property(text, s => {
        let ok = true;
        try {
          JSON.parse(s);
        } catch {
          ok = false;
        }
        const at = firstSyntaxError(s);
        assert.equal(at === undefined, ok, s);
        if (at !== undefined) assert.ok(at >= 0 && at <= s.length);
      }),
      { numRuns: 5000 },
    );
    assert.equal(firstSyntaxError("[".repeat(200000)), 200000);
  });
});
