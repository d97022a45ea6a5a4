import assert from "node:assert/strict";
import fc from "fast-check";
import { firstSyntaxError, parseJson } from "../../../capabilities/domain/json";
import { containsIP, hostRange, parseCIDR, parseIP, parseRange } from "../../../capabilities/domain/net";
import { parseNetworkRef, parseUnicastMac } from "../../../capabilities/domain/names";

describe("domain/net", () => {
  it("parses bare addresses canonically and refuses prefixes and zones", () => {
    assert.deepEqual(parseIP("10.0.0.1"), { family: 4, value: 0x0a000001n, text: "10.0.0.1" });
    assert.equal(parseIP("FD00:0::1")?.text, "fd00::1");
    for (const bad of ["10.0.0.1/24", "fe80::1%eth0", "010.0.0.1", "1.2.3", "", 5, null])
      assert.equal(parseIP(bad), undefined, String(bad));
  });

  it("parses CIDRs with their first and last address", () => {
    const c = parseCIDR("10.100.0.7/24");
    assert.deepEqual(c && [c.first, c.last, c.prefix, c.text], [0x0a640000n, 0x0a6400ffn, 24, "10.100.0.0/24"]);
    assert.equal(parseCIDR("fd00:100::/64")?.last, 0xfd00010000000000ffffffffffffffffn);
    for (const bad of ["10.0.0.0", "10.0.0.0/33", "fd00::/129", "x/8", "10.0.0.0/"]) assert.equal(parseCIDR(bad), undefined, bad);
  });

  it("parses ranges and explains bad ones", () => {
    assert.deepEqual(parseRange("10.0.0.5-10.0.0.9"), { span: { family: 4, first: 0x0a000005n, last: 0x0a000009n } });
    assert.deepEqual(parseRange("10.0.0.5"), { span: { family: 4, first: 0x0a000005n, last: 0x0a000005n } });
    assert.match((parseRange("10.0.0.9-10.0.0.5") as { error: string }).error, /10\.0\.0\.5-10\.0\.0\.9/);
    assert.match((parseRange("10.0.0.1-::1") as { error: string }).error, /one family/);
  });

  it("the host range drops network and broadcast (IPv4), the anycast address (IPv6), nothing for /31 and /32", () => {
    const d = (c: string): [bigint, bigint] => {
      const r = hostRange(parseCIDR(c)!);
      return [r.first - parseCIDR(c)!.first, r.last - parseCIDR(c)!.first];
    };
    assert.deepEqual(d("10.0.0.0/24"), [1n, 254n]);
    assert.deepEqual(d("10.0.0.0/31"), [0n, 1n]);
    assert.deepEqual(d("10.0.0.0/32"), [0n, 0n]);
    assert.deepEqual(d("fd00::/126"), [1n, 3n]);
  });

  it("containment agrees with a string-level check on random IPv4 /24s", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), (net, ip) => {
        const c = parseCIDR(`${net}/24`)!;
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
        parseRange(s);
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
