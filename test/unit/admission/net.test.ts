import assert from "node:assert/strict";
import fc from "fast-check";
import { firstSyntaxError, parseJson, stringEnd } from "../../../capabilities/domain/json";
import { formatIP, parseIP as ipamParseIP } from "../../../capabilities/ipam/address";
import { InvalidAddressError } from "../../../capabilities/ipam/errors";
import { MEMO_ENTRIES, containsIP, memoSizes, parseCIDR, parseIP, parseSpan, readCIDR, readIP } from "../../../capabilities/domain/net";
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

// Under Stryker the memos keep nothing (domain/memo.ts): there the same text gives equal results, not the same object.
const memosOn = (globalThis as { __stryker__?: unknown }).__stryker__ === undefined;
const same = (a: unknown, b: unknown): void => (memosOn ? assert.equal(a, b) : assert.deepEqual(a, b));

describe("domain/net memos (one parse per text)", () => {
  it("hands every caller the same frozen result, equal to a first parse", () => {
    const text = "10.201.0.0/24"; // used by no other test: its first read here is a parse
    const first = readCIDR(text);
    assert.deepEqual(first, { family: 4, first: 0x0ac90000n, last: 0x0ac900ffn, prefix: 24, text: "10.201.0.0/24" });
    same(readCIDR(text), first);
    same(parseCIDR(text), first);
    assert.ok(Object.isFrozen(first));
    assert.throws(() => ((first as { prefix: number }).prefix = 16), TypeError);
    assert.equal(parseCIDR(text)?.prefix, 24);
    const ip = readIP("10.201.0.7");
    same(readIP("10.201.0.7"), ip);
    assert.ok(Object.isFrozen(ip));
  });

  it("keeps a refusal with its reason and fix, also when read again", () => {
    const want = { error: "has host bits set", fix: "write 10.202.0.0/24" };
    assert.deepEqual(readCIDR("10.202.0.7/24"), want);
    assert.deepEqual(readCIDR("10.202.0.7/24"), want);
    assert.equal(parseCIDR("10.202.0.7/24"), undefined);
    assert.deepEqual(readIP("::ffff:10.202.0.1"), readIP("::ffff:10.202.0.1"));
    assert.equal(parseIP("::ffff:10.202.0.1"), undefined);
  });

  it("an IP text and a CIDR text of the same characters are read by their own parser", () => {
    assert.equal(parseIP("10.203.0.0/24"), undefined);
    assert.equal(parseCIDR("10.203.0.0/24")?.text, "10.203.0.0/24");
    assert.equal(parseCIDR("10.203.0.9"), undefined);
    assert.equal(parseIP("10.203.0.9")?.text, "10.203.0.9");
  });

  it("stays bounded under a flood of distinct texts, and answers right after eviction", () => {
    for (let i = 0; i < MEMO_ENTRIES + 500; i++) {
      readCIDR(`10.${(i >> 8) & 255}.${i & 255}.0/24`);
      readIP(`fd00::${i.toString(16)}`);
    }
    const sizes = memoSizes();
    assert.ok(sizes.cidr <= MEMO_ENTRIES && sizes.ip <= MEMO_ENTRIES, JSON.stringify(sizes));
    // The first texts of the flood were evicted: read again, they parse again to the same values.
    assert.equal(parseCIDR("10.0.0.0/24")?.last, 0x0a0000ffn);
    assert.equal(parseIP("fd00::0")?.text, "fd00::");
  });

  it("keeps nothing under Stryker, which switches mutants inside one process", () => {
    const g = globalThis as { __stryker__?: unknown };
    const had = g.__stryker__;
    g.__stryker__ = { activeMutant: undefined };
    try {
      assert.notEqual(readCIDR("10.205.0.0/24"), readCIDR("10.205.0.0/24"));
      assert.deepEqual(readCIDR("10.205.0.0/24"), parseCIDR("10.205.0.0/24"));
    } finally {
      g.__stryker__ = had;
    }
    same(readCIDR("10.205.0.0/24"), readCIDR("10.205.0.0/24"));
  });

  it("does not keep texts longer than any address or CIDR", () => {
    const long = `10.0.0.0/${"2".repeat(100)}`;
    assert.equal(parseCIDR(long), undefined);
    // Not kept: each read is a parse of its own (a kept one would be the same object).
    assert.notEqual(readCIDR(long), readCIDR(long));
    assert.deepEqual(readCIDR(long), readCIDR(long));
    const short = "10.204.0.0/24";
    same(readCIDR(short), readCIDR(short));
  });
});

describe("domain/json", () => {
  it("reports the line and column of the error", () => {
    const r = parseJson('{\n  "a": 1,\n  "b": tru\n}');
    assert.equal(r.ok, false);
    assert.deepEqual(r.ok ? undefined : [r.line, r.column], [3, 11]);
  });

  it("stringEnd finds the closing quote as a left-to-right scan of escapes does", () => {
    // The scan stringEnd replaced (the gate's depth check and objectKeys rely on it).
    const reference = (text: string, start: number): number => {
      for (let i = start + 1; i < text.length; i++) {
        if (text[i] === "\\") i++;
        else if (text[i] === '"') return i;
      }
      return text.length - 1;
    };
    const text = fc.oneof(
      fc.json(),
      fc.stringMatching(/^[\\"ab]{0,12}$/).map(t => `"${t}`),
      fc.string().map(t => `"${t}`),
    );
    fc.assert(
      fc.property(text, t => {
        for (let i = t.indexOf('"'); i >= 0; i = t.indexOf('"', i + 1)) assert.equal(stringEnd(t, i), reference(t, i), `${t} at ${i}`);
      }),
      { numRuns: 5000 },
    );
    assert.equal(stringEnd('"a\\"bc', 0), 5); // escaped quote: no end, the last index
    assert.equal(stringEnd('"a\\\\"b', 0), 4);
    assert.equal(stringEnd('"a\\', 0), 2);
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
