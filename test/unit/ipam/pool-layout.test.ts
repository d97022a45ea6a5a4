import assert from "node:assert/strict";
import fc from "fast-check";
import { InvalidPoolError, PoolSpecInput, formatIP, parseIP, poolLayout, validatePoolSpec, whyUnusable } from "../../../capabilities/ipam";

const ip = (s: string): bigint => parseIP(s).value;

function assertPoolError(spec: PoolSpecInput, field: string, value: string, reason: RegExp, fix: RegExp): void {
  assert.throws(
    () => poolLayout(spec),
    (e: unknown) => {
      assert.ok(e instanceof InvalidPoolError, `expected InvalidPoolError, got ${String(e)}`);
      assert.equal(e.code, "InvalidPool");
      assert.equal(e.field, field);
      assert.equal(e.value, value);
      assert.match(e.reason, reason);
      assert.match(e.fix, fix);
      assert.ok(e.message.startsWith(`${field}: ${JSON.stringify(value)} `), e.message);
      return true;
    },
  );
}

describe("ipam/poolLayout", () => {
  it("IPv4 /24 with ranges, exclusions and gateway", () => {
    const l = poolLayout({
      cidr: "10.100.0.0/24",
      ranges: ["10.100.0.10-10.100.0.200", "10.100.0.250"],
      exclude: ["10.100.0.50", "10.100.0.64/28", "10.100.1.0/24"],
      gateway: "10.100.0.1",
    });
    assert.equal(l.family, 4);
    assert.equal(l.prefix, 24);
    assert.equal(l.cidr, "10.100.0.0/24");
    assert.equal(l.gateway, "10.100.0.1");
    // 191 + 1 addresses in ranges, minus .50 and .64-.79; the gateway is outside the ranges.
    assert.equal(l.capacity, 192n - 1n - 16n);
    assert.equal(
      l.usable.toString(v => formatIP(4, v)),
      "10.100.0.10-10.100.0.49, 10.100.0.51-10.100.0.63, 10.100.0.80-10.100.0.200, 10.100.0.250",
    );
  });

  it("default ranges: whole CIDR minus network, broadcast and gateway", () => {
    const l = poolLayout({ cidr: "10.100.0.0/24", gateway: "10.100.0.1" });
    assert.equal(l.capacity, 253n);
    assert.equal(l.usable.first, ip("10.100.0.2"));
    assert.equal(l.usable.last, ip("10.100.0.254"));
    assert.equal(poolLayout({ cidr: "10.100.0.0/30" }).capacity, 2n);
  });

  it("network and broadcast are taken out of explicit ranges too", () => {
    const l = poolLayout({ cidr: "10.100.0.0/24", ranges: ["10.100.0.0-10.100.0.255"] });
    assert.equal(l.capacity, 254n);
    assert.deepEqual(whyUnusable(l, parseIP("10.100.0.255")), {
      code: "Excluded",
      reason: "is the broadcast address of 10.100.0.0/24",
      field: "spec.cidr",
    });
  });

  it("keeps every address of /31, /32, /127 and /128 (RFC 3021)", () => {
    assert.equal(poolLayout({ cidr: "10.0.0.0/31" }).capacity, 2n);
    assert.equal(poolLayout({ cidr: "10.0.0.5/32" }).capacity, 1n);
    assert.equal(poolLayout({ cidr: "fd00::/127" }).capacity, 2n);
    assert.equal(poolLayout({ cidr: "fd00::5/128" }).capacity, 1n);
    assert.equal(
      poolLayout({ cidr: "10.0.0.0/31", gateway: "10.0.0.0" }).usable.toString(v => formatIP(4, v)),
      "10.0.0.1",
    );
  });

  it("IPv6 /64: no broadcast, the subnet-router anycast (network) address is not handed out", () => {
    const l = poolLayout({ cidr: "FD00:100:0:0::/64", gateway: "fd00:100::1", exclude: ["fd00:100::ff00/120"] });
    assert.equal(l.family, 6);
    assert.equal(l.cidr, "fd00:100::/64");
    assert.equal(l.capacity, (1n << 64n) - 2n - 256n);
    assert.equal(l.usable.first, ip("fd00:100::2"));
    assert.equal(l.usable.last, ip("fd00:100::ffff:ffff:ffff:ffff"));
    assert.equal(l.usable.rangeCount, 2);
  });

  it("ignores exclusions outside the CIDR and clips those reaching out of it", () => {
    const l = poolLayout({ cidr: "10.0.0.0/28", exclude: ["192.168.0.1", "10.0.0.0/8"] });
    assert.equal(l.capacity, 0n);
    assert.equal(poolLayout({ cidr: "10.0.0.0/28", exclude: ["192.168.0.0/16"] }).capacity, 14n);
  });

  describe("errors name the field, the value and the fix", () => {
    it("range outside the CIDR", () => {
      assertPoolError(
        { cidr: "10.100.0.0/24", ranges: ["10.100.0.10-10.100.0.20", "10.100.0.30", "10.100.0.250-10.100.1.5"] },
        "spec.ranges[2]",
        "10.100.0.250-10.100.1.5",
        /outside spec\.cidr 10\.100\.0\.0\/24/,
        /within 10\.100\.0\.0-10\.100\.0\.255/,
      );
    });
    it("reversed range", () => {
      assertPoolError(
        { cidr: "10.100.0.0/24", ranges: ["10.100.0.200-10.100.0.10"] },
        "spec.ranges[0]",
        "10.100.0.200-10.100.0.10",
        /reversed/,
        /write 10\.100\.0\.10-10\.100\.0\.200/,
      );
    });
    it("family mismatch in ranges, exclude and gateway", () => {
      assertPoolError(
        { cidr: "10.100.0.0/24", ranges: ["fd00::1-fd00::9"] },
        "spec.ranges[0]",
        "fd00::1-fd00::9",
        /IPv6 but spec\.cidr 10\.100\.0\.0\/24 is IPv4/,
        /separate IPv6 pool/,
      );
      assertPoolError(
        { cidr: "10.100.0.0/24", ranges: ["10.100.0.1-fd00::9"] },
        "spec.ranges[0]",
        "10.100.0.1-fd00::9",
        /IPv6 but/,
        /IPv4 addresses/,
      );
      assertPoolError(
        { cidr: "fd00::/64", exclude: ["fd00::5", "10.0.0.0/8"] },
        "spec.exclude[1]",
        "10.0.0.0/8",
        /IPv4 but spec\.cidr fd00::\/64 is IPv6/,
        /IPv6 addresses/,
      );
      assertPoolError({ cidr: "fd00::/64", gateway: "10.0.0.1" }, "spec.gateway", "10.0.0.1", /IPv4 but/, /IPv6 addresses/);
    });
    it("malformed items", () => {
      assertPoolError(
        { cidr: "10.100.0.0/24", ranges: ["10.100.0.1-10.100.0.2-10.100.0.3"] },
        "spec.ranges[0]",
        "10.100.0.1-10.100.0.2-10.100.0.3",
        /not an address or a range/,
        /joined by '-'/,
      );
      assertPoolError(
        { cidr: "10.100.0.0/24", ranges: ["10.100.0.0/28"] },
        "spec.ranges[0]",
        "10.100.0.0/28",
        /not an address or a range/,
        /10\.100\.0\.10-10\.100\.0\.200/,
      );
      assertPoolError(
        { cidr: "10.100.0.0/24", exclude: ["10.100.0.65/28"] },
        "spec.exclude[0]",
        "10.100.0.65/28",
        /host bits/,
        /write 10\.100\.0\.64\/28/,
      );
      assertPoolError(
        { cidr: "10.100.0.0/24", exclude: ["ten"] },
        "spec.exclude[0]",
        "ten",
        /neither an address nor a CIDR/,
        /10\.100\.0\.64\/28/,
      );
      assertPoolError(
        { cidr: "10.100.0.0/24", gateway: "10.100.0" },
        "spec.gateway",
        "10.100.0",
        /not an IP address/,
        /such as 10\.100\.0\.1/,
      );
    });
    it("gateway outside the CIDR", () => {
      assertPoolError(
        { cidr: "10.100.0.0/24", gateway: "10.100.1.1" },
        "spec.gateway",
        "10.100.1.1",
        /outside spec\.cidr/,
        /inside 10\.100\.0\.0\/24/,
      );
    });
    it("bad CIDR", () => {
      assertPoolError({ cidr: "10.100.0.7/24" }, "spec.cidr", "10.100.0.7/24", /host bits/, /write 10\.100\.0\.0\/24/);
      assertPoolError({ cidr: "10.100.0.0" }, "spec.cidr", "10.100.0.0", /not a CIDR/, /10\.100\.0\.0\/24/);
    });
    it("validatePoolSpec lists every problem", () => {
      const errors = validatePoolSpec({
        cidr: "10.100.0.0/24",
        ranges: ["10.100.0.10-10.100.0.20", "x", "10.100.0.9-10.100.0.1"],
        exclude: ["fd00::1"],
        gateway: "10.200.0.1",
      });
      assert.deepEqual(errors.map(e => e.field).sort(), ["spec.exclude[0]", "spec.gateway", "spec.ranges[1]", "spec.ranges[2]"]);
      assert.deepEqual(validatePoolSpec({ cidr: "10.100.0.0/24" }), []);
    });
  });

  describe("whyUnusable", () => {
    // Built inside the test, not when the file loads (code run at load time would make mutation testing restart its runner).
    const why = (s: string): ReturnType<typeof whyUnusable> =>
      whyUnusable(
        poolLayout({
          cidr: "10.100.0.0/24",
          ranges: ["10.100.0.0-10.100.0.100"],
          exclude: ["10.100.0.50", "10.100.0.64/28"],
          gateway: "10.100.0.1",
        }),
        parseIP(s),
      );
    it("explains each kind of unusable address", () => {
      assert.equal(why("10.100.0.2"), undefined);
      assert.deepEqual(why("10.100.0.1"), { code: "Excluded", reason: "is the gateway of the pool", field: "spec.gateway" });
      assert.deepEqual(why("10.100.0.0"), { code: "Excluded", reason: "is the network address of 10.100.0.0/24", field: "spec.cidr" });
      assert.deepEqual(why("10.100.0.50"), {
        code: "Excluded",
        reason: "is excluded by spec.exclude[0] (10.100.0.50)",
        field: "spec.exclude[0]",
      });
      assert.deepEqual(why("10.100.0.70"), {
        code: "Excluded",
        reason: "is excluded by spec.exclude[1] (10.100.0.64/28)",
        field: "spec.exclude[1]",
      });
      assert.deepEqual(why("10.100.0.101"), {
        code: "OutOfRange",
        reason: "is outside the pool's ranges (10.100.0.0-10.100.0.100)",
        field: "spec.ranges",
      });
      assert.deepEqual(why("10.100.1.1"), { code: "OutOfRange", reason: "is outside 10.100.0.0/24", field: "spec.cidr" });
      assert.deepEqual(why("fd00::1"), { code: "OutOfRange", reason: "is IPv6 but the pool is IPv4 (10.100.0.0/24)", field: "spec.cidr" });
    });
  });

  it("random and malformed specs give InvalidPoolErrors, never a crash", () => {
    const text = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom("10.0.0.0/24", "10.0.0.5", "10.0.0.1-10.0.0.9", "fd00::/64", "fd00::1-fd00::5", "10.0.0.9-10.0.0.1", "10.0.0.0/33"),
    );
    const spec = fc.record({
      cidr: text,
      ranges: fc.option(fc.array(text, { maxLength: 3 }), { nil: undefined }),
      exclude: fc.option(fc.array(text, { maxLength: 3 }), { nil: undefined }),
      gateway: fc.option(text, { nil: undefined }),
    });
    fc.assert(
      fc.property(spec, sp => {
        const errors = validatePoolSpec(sp);
        errors.forEach(e =>
          assert.ok(e instanceof InvalidPoolError && /^spec\.(cidr|gateway|ranges\[\d\]|exclude\[\d\])$/.test(e.field), String(e)),
        );
        if (errors.length === 0) assert.ok(poolLayout(sp).capacity >= 0n);
        else assert.throws(() => poolLayout(sp), InvalidPoolError);
      }),
      { numRuns: 1000 },
    );
  });

  it("usable set agrees with brute force over random specs", () => {
    fc.assert(
      fc.property(layoutSpecArb, ({ family, spec, truth }) => {
        const l = poolLayout(spec);
        const expected = truth();
        const got = Array.from(l.usable.values(), v => Number(v - l.base));
        assert.deepEqual(got, expected);
        assert.equal(l.capacity, BigInt(expected.length));
        assert.equal(l.family, family);
      }),
      { numRuns: 300 },
    );
  });
});

/** Random specs over a 64-address CIDR, with the brute-force usable offsets. */
const layoutSpecArb = fc
  .record({
    family: fc.constantFrom<4 | 6>(4, 6),
    ranges: fc.option(fc.array(fc.tuple(fc.nat(63), fc.nat(63)), { minLength: 1, maxLength: 3 }), { nil: undefined }),
    singles: fc.array(fc.nat(63), { maxLength: 3 }),
    blocks: fc.array(fc.nat(15), { maxLength: 2 }),
    gateway: fc.option(fc.nat(63), { nil: undefined }),
  })
  .map(({ family, ranges, singles, blocks, gateway }) => {
    const base = family === 4 ? parseIP("10.0.0.0").value : parseIP("fd00::").value;
    const a = (off: number): string => formatIP(family, base + BigInt(off));
    const sorted = ranges?.map(([x, y]) => [Math.min(x, y), Math.max(x, y)] as const);
    const spec: PoolSpecInput = {
      cidr: `${a(0)}/${family === 4 ? 26 : 122}`,
      ranges: sorted?.map(([x, y]) => (x === y ? a(x) : `${a(x)}-${a(y)}`)),
      exclude: [...singles.map(a), ...blocks.map(b => `${a(b * 4)}/${family === 4 ? 30 : 126}`)],
      gateway: gateway === undefined ? undefined : a(gateway),
    };
    const truth = (): number[] => {
      const out: number[] = [];
      for (let off = 0; off < 64; off++) {
        const inRanges = !sorted || sorted.some(([x, y]) => off >= x && off <= y);
        const special = off === 0 || (family === 4 && off === 63) || off === gateway;
        const excluded = singles.includes(off) || blocks.some(b => off >= b * 4 && off < b * 4 + 4);
        if (inRanges && !special && !excluded) out.push(off);
      }
      return out;
    };
    return { family, spec, truth };
  });
