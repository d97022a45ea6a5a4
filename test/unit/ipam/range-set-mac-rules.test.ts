// RangeSet and MAC helpers at their edges, with hand-written expected values: argument checks,
// the iteration protocol, equality of sets with different shapes, and non-string input.
import assert from "node:assert/strict";
import { InvalidAddressError, RangeSet, isValidUnicastMac, macFor, macKey, normalizeMac } from "../../../capabilities/ipam";

describe("ipam/RangeSet and MACs, edges", () => {
  it("refuses bounds that are not bigints, and reversed bounds in every operation taking an interval", () => {
    assert.throws(() => RangeSet.fromRanges([[1, 2] as unknown as [bigint, bigint]]), {
      name: "TypeError",
      message: "interval bounds must be bigint",
    });
    assert.throws(() => RangeSet.fromRanges([{ first: 1n, last: 2 } as unknown as { first: bigint; last: bigint }]), {
      name: "TypeError",
      message: "interval bounds must be bigint",
    });
    assert.throws(() => RangeSet.fromRanges([[1, 2n] as unknown as [bigint, bigint]]), {
      name: "TypeError",
      message: "interval bounds must be bigint",
    });
    assert.throws(() => RangeSet.of(3n, 2n), { name: "RangeError", message: "interval [3, 2] is reversed" });
    assert.throws(() => RangeSet.of(1n, 9n).clip(5n, 4n), RangeError);
    assert.throws(() => RangeSet.of(1n, 9n).subtract(20n, 19n), RangeError, "checked even when the hole lies outside the set");
    assert.throws(() => RangeSet.of(1n, 9n).add(5n, 4n), RangeError);
    assert.deepEqual(RangeSet.fromRanges([{ first: 4n, last: 4n }, [1n, 2n]]).intervals(), [
      { first: 1n, last: 2n },
      { first: 4n, last: 4n },
    ]);
  });

  it("getters and iteration over intervals", () => {
    const s = RangeSet.fromRanges([
      [10n, 12n],
      [20n, 20n],
      [30n, 31n],
    ]);
    assert.deepEqual([s.rangeCount, s.isEmpty, s.first, s.last, s.size], [3, false, 10n, 31n, 6n]);
    assert.deepEqual(
      [...s],
      [
        { first: 10n, last: 12n },
        { first: 20n, last: 20n },
        { first: 30n, last: 31n },
      ],
    );
    assert.deepEqual([RangeSet.EMPTY.rangeCount, RangeSet.EMPTY.isEmpty, RangeSet.EMPTY.last], [0, true, undefined]);
    assert.equal(s.toString(), "10-12, 20, 30-31");
    assert.equal(
      s.toString(v => `<${v}>`),
      "<10>-<12>, <20>, <30>-<31>",
    );
    assert.equal(RangeSet.EMPTY.toString(), "");
  });

  it("lookups at interval edges", () => {
    const s = RangeSet.fromRanges([
      [10n, 12n],
      [20n, 20n],
      [30n, 31n],
    ]);
    assert.deepEqual(
      [9n, 10n, 12n, 13n, 20n, 21n, 31n, 32n].map(v => s.indexOf(v)),
      [-1, 0, 0, -1, 1, -1, 2, -1],
    );
    assert.deepEqual(
      [0n, 2n, 3n, 4n, 5n, 6n, -1n].map(i => s.nth(i)),
      [10n, 12n, 20n, 30n, 31n, undefined, undefined],
    );
    assert.deepEqual(
      [0n, 10n, 11n, 13n, 20n, 25n, 31n, 99n].map(v => s.rankOf(v)),
      [0n, 0n, 1n, 3n, 3n, 4n, 5n, 6n],
    );
    assert.deepEqual(
      [s.containsRange(10n, 12n), s.containsRange(10n, 13n), s.containsRange(12n, 20n), s.containsRange(9n, 10n)],
      [true, false, false, false],
    );
    assert.deepEqual([s.overlaps(13n, 19n), s.overlaps(13n, 20n), s.overlaps(31n, 40n), s.overlaps(0n, 9n)], [false, true, true, false]);
    assert.deepEqual([...s.values(21n)], [30n, 31n]);
    assert.deepEqual([...s.values(32n)], []);
    assert.deepEqual([...RangeSet.EMPTY.values()], []);
  });

  it("set operations keep their operands and compare by members", () => {
    const a = RangeSet.fromRanges([
      [1n, 5n],
      [10n, 12n],
    ]);
    assert.deepEqual(a.subtract(3n, 3n).intervals(), [
      { first: 1n, last: 2n },
      { first: 4n, last: 5n },
      { first: 10n, last: 12n },
    ]);
    assert.deepEqual(a.subtract(1n, 5n).intervals(), [{ first: 10n, last: 12n }]);
    assert.deepEqual(a.subtract(5n, 10n).intervals(), [
      { first: 1n, last: 4n },
      { first: 11n, last: 12n },
    ]);
    assert.deepEqual(a.clip(4n, 11n).intervals(), [
      { first: 4n, last: 5n },
      { first: 10n, last: 11n },
    ]);
    assert.equal(a.clip(6n, 9n).isEmpty, true);
    assert.deepEqual(
      a
        .difference(
          RangeSet.fromRanges([
            [2n, 3n],
            [12n, 20n],
          ]),
        )
        .intervals(),
      [
        { first: 1n, last: 1n },
        { first: 4n, last: 5n },
        { first: 10n, last: 11n },
      ],
    );
    assert.equal(
      a.equals(
        RangeSet.fromRanges([
          [1n, 5n],
          [10n, 12n],
        ]),
      ),
      true,
    );
    assert.equal(a.equals(RangeSet.fromRanges([[1n, 5n]])), false);
    assert.equal(RangeSet.fromRanges([[1n, 5n]]).equals(a), false);
    assert.equal(
      a.equals(
        RangeSet.fromRanges([
          [1n, 5n],
          [10n, 13n],
        ]),
      ),
      false,
    );
    assert.equal(
      a.equals(
        RangeSet.fromRanges([
          [0n, 5n],
          [10n, 12n],
        ]),
      ),
      false,
    );
    assert.equal(a.add(6n, 9n).rangeCount, 1);
    assert.equal(a.size, 8n);
  });

  it("MAC helpers on non-string and boundary input", () => {
    assert.equal(isValidUnicastMac(5 as unknown as string), false);
    // Text-like values that are not strings (an array stringifies to its one element) are refused, not coerced.
    assert.equal(isValidUnicastMac(["02:00:0a:64:00:17"] as unknown as string), false);
    assert.throws(() => normalizeMac(["02:00:0a:64:00:17"] as unknown as string), InvalidAddressError);
    assert.equal(isValidUnicastMac("03:00:00:00:00:01"), false, "multicast bit set");
    assert.equal(isValidUnicastMac("02:00:00:00:00:00"), true, "only all-zero is refused, not a zero tail");
    assert.throws(
      () => normalizeMac(5 as unknown as string),
      (e: unknown) =>
        e instanceof InvalidAddressError &&
        e.value === "5" &&
        e.fix === "write six hex pairs separated by ':', such as 02:00:0a:64:00:17" &&
        e.reason === "is not a MAC address",
    );
    assert.equal(normalizeMac("AA-BB-CC-DD-EE-FF"), "aa:bb:cc:dd:ee:ff");
    assert.equal(macKey(6, (1n << 40n) | 5n), 5n);
    assert.equal(macKey(6, (1n << 40n) - 1n), (1n << 40n) - 1n);
    assert.equal(macFor({ family: 6, value: 0n }), "0a:00:00:00:00:00");
    assert.equal(macFor({ family: 4, value: 0n }), "02:00:00:00:00:00");
  });
});
