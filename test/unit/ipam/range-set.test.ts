import assert from "node:assert/strict";
import fc from "fast-check";
import { RangeSet } from "../../../capabilities/ipam";

// Properties run against a plain Set over a small universe, where brute force is the truth.
const U = 64;
const intervalArb = fc
  .tuple(fc.integer({ min: 0, max: U - 1 }), fc.integer({ min: 0, max: U - 1 }))
  .map(([a, b]) => [BigInt(Math.min(a, b)), BigInt(Math.max(a, b))] as [bigint, bigint]);
const intervalsArb = fc.array(intervalArb, { maxLength: 6 });

function model(intervals: [bigint, bigint][]): Set<number> {
  const s = new Set<number>();
  for (const [a, b] of intervals) for (let v = Number(a); v <= Number(b); v++) s.add(v);
  return s;
}

function members(set: RangeSet): number[] {
  return Array.from(set.values(), Number);
}

describe("ipam/RangeSet", () => {
  it("normalises overlapping, adjacent and unsorted intervals", () => {
    const s = RangeSet.fromRanges([[20n, 30n], [1n, 5n], [6n, 9n], [25n, 40n], { first: 50n, last: 50n }]);
    assert.deepEqual(s.intervals(), [
      { first: 1n, last: 9n },
      { first: 20n, last: 40n },
      { first: 50n, last: 50n },
    ]);
    assert.equal(s.size, 9n + 21n + 1n);
    assert.equal(s.rangeCount, 3);
    assert.equal(s.toString(), "1-9, 20-40, 50");
  });

  it("refuses reversed intervals", () => {
    assert.throws(() => RangeSet.fromRanges([[5n, 4n]]), RangeError);
    assert.throws(() => RangeSet.of(1n, 10n).subtract(5n, 4n), RangeError);
  });

  it("answers queries on a huge set without materialising it", () => {
    const s = RangeSet.of(1n, (1n << 64n) - 1n).subtract(1000n, 1999n);
    assert.equal(s.size, (1n << 64n) - 1n - 1000n);
    assert.equal(s.contains(999n), true);
    assert.equal(s.contains(1500n), false);
    assert.equal(s.nextAtOrAfter(1000n), 2000n);
    assert.equal(s.nth(999n), 2000n);
    assert.equal(s.rankOf(2000n), 999n);
    assert.equal(s.nextAtOrAfter(1n << 64n), undefined);
    assert.deepEqual(Array.from(take(s.values(998n), 4)), [998n, 999n, 2000n, 2001n]);
  });

  it("empty set", () => {
    assert.equal(RangeSet.EMPTY.size, 0n);
    assert.equal(RangeSet.EMPTY.first, undefined);
    assert.equal(RangeSet.EMPTY.nextAtOrAfter(0n), undefined);
    assert.equal(RangeSet.EMPTY.nth(0n), undefined);
    assert.deepEqual(members(RangeSet.EMPTY), []);
    assert.equal(RangeSet.of(3n, 3n).subtract(3n, 3n).isEmpty, true);
  });

  it("agrees with a Set model on every query", () => {
    fc.assert(
      fc.property(intervalsArb, fc.integer({ min: -2, max: U + 2 }), (intervals, probe) => {
        const s = RangeSet.fromRanges(intervals);
        const m = model(intervals);
        const sorted = [...m].sort((a, b) => a - b);
        assert.deepEqual(members(s), sorted);
        assert.equal(s.size, BigInt(m.size));
        assert.equal(s.contains(BigInt(probe)), m.has(probe));
        const next = sorted.find(v => v >= probe);
        assert.equal(s.nextAtOrAfter(BigInt(probe)), next === undefined ? undefined : BigInt(next));
        const rank = sorted.filter(v => v < probe).length;
        assert.equal(s.rankOf(BigInt(probe)), BigInt(rank));
        assert.equal(s.nth(BigInt(probe)), probe >= 0 && probe < sorted.length ? BigInt(sorted[probe]) : undefined);
        assert.deepEqual(
          Array.from(s.values(BigInt(probe)), Number),
          sorted.filter(v => v >= probe),
        );
        // Disjoint, sorted, non-adjacent: one representation per set.
        const iv = s.intervals();
        for (let i = 1; i < iv.length; i++) assert.ok(iv[i].first > iv[i - 1].last + 1n);
      }),
      { numRuns: 500 },
    );
  });

  it("add, subtract, union, difference and clip agree with the model", () => {
    fc.assert(
      fc.property(intervalsArb, intervalsArb, intervalArb, (a, b, [lo, hi]) => {
        const sa = RangeSet.fromRanges(a);
        const sb = RangeSet.fromRanges(b);
        const ma = model(a);
        const mb = model(b);
        const inHole = (v: number): boolean => v >= Number(lo) && v <= Number(hi);
        const sorted = (xs: Iterable<number>): number[] => [...new Set(xs)].sort((x, y) => x - y);
        assert.deepEqual(members(sa.add(lo, hi)), sorted([...ma, ...model([[lo, hi]])]));
        assert.deepEqual(members(sa.subtract(lo, hi)), sorted([...ma].filter(v => !inHole(v))));
        assert.deepEqual(members(sa.clip(lo, hi)), sorted([...ma].filter(inHole)));
        assert.deepEqual(members(sa.union(sb)), sorted([...ma, ...mb]));
        assert.deepEqual(members(sa.difference(sb)), sorted([...ma].filter(v => !mb.has(v))));
        assert.equal(sa.overlaps(lo, hi), [...ma].some(inHole));
        assert.equal(
          sa.containsRange(lo, hi),
          [...model([[lo, hi]])].every(v => ma.has(v)),
        );
        assert.ok(sa.union(sb).equals(sb.union(sa)));
        // Immutable: the operands did not change.
        assert.deepEqual(members(sa), sorted(ma));
      }),
      { numRuns: 500 },
    );
  });
});

function* take<T>(it: Iterable<T>, n: number): Generator<T> {
  if (n <= 0) return;
  for (const v of it) {
    yield v;
    if (--n <= 0) return;
  }
}
