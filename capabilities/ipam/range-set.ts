// A set of bigint values stored as sorted, disjoint, non-adjacent closed intervals. Pools are
// described by a handful of intervals however many addresses they hold (an IPv6 /64 is one
// interval), so queries are binary searches over the intervals: O(log R).

export interface Interval {
  readonly first: bigint;
  readonly last: bigint;
}

export type IntervalInput = Interval | readonly [bigint, bigint];

function toInterval(r: IntervalInput): Interval {
  const [first, last] = Array.isArray(r) ? (r as readonly [bigint, bigint]) : [(r as Interval).first, (r as Interval).last];
  if (typeof first !== "bigint" || typeof last !== "bigint") throw new TypeError("interval bounds must be bigint");
  if (first > last) throw new RangeError(`interval [${first}, ${last}] is reversed`);
  return { first, last };
}

/** Immutable: every operation that changes membership returns a new set. */
export class RangeSet implements Iterable<Interval> {
  static readonly EMPTY = new RangeSet([], []);

  // Parallel arrays rather than objects: cheaper binary search and a smaller heap.
  private readonly firsts: readonly bigint[];
  private readonly lasts: readonly bigint[];
  // before[i] = number of members in intervals 0..i-1, for nth() and rankOf().
  private readonly before: readonly bigint[];
  /** Number of members. */
  readonly size: bigint;

  private constructor(firsts: bigint[], lasts: bigint[]) {
    this.firsts = firsts;
    this.lasts = lasts;
    const before: bigint[] = [];
    let total = 0n;
    for (let i = 0; i < firsts.length; i++) {
      before.push(total);
      total += lasts[i] - firsts[i] + 1n;
    }
    this.before = before;
    this.size = total;
  }

  /** Normalises any intervals (unsorted, overlapping, adjacent) into a set. */
  static fromRanges(ranges: Iterable<IntervalInput>): RangeSet {
    const sorted = Array.from(ranges, toInterval).sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    const firsts: bigint[] = [];
    const lasts: bigint[] = [];
    for (const { first, last } of sorted) {
      const n = lasts.length;
      // Merge overlapping and adjacent intervals so every set has exactly one representation.
      if (n > 0 && first <= lasts[n - 1] + 1n) {
        if (last > lasts[n - 1]) lasts[n - 1] = last;
      } else {
        firsts.push(first);
        lasts.push(last);
      }
    }
    return new RangeSet(firsts, lasts);
  }

  /** The set [first, last]. */
  static of(first: bigint, last: bigint): RangeSet {
    return RangeSet.fromRanges([[first, last]]);
  }

  get rangeCount(): number {
    return this.firsts.length;
  }

  get isEmpty(): boolean {
    return this.firsts.length === 0;
  }

  /** Smallest member, if any. */
  get first(): bigint | undefined {
    return this.firsts[0];
  }

  /** Largest member, if any. */
  get last(): bigint | undefined {
    return this.lasts[this.lasts.length - 1];
  }

  /** Index of the first interval whose last >= v (rangeCount when none). */
  private lowerBound(v: bigint): number {
    let lo = 0;
    let hi = this.lasts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.lasts[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the interval holding v, or -1. */
  indexOf(v: bigint): number {
    const i = this.lowerBound(v);
    return i < this.firsts.length && this.firsts[i] <= v ? i : -1;
  }

  contains(v: bigint): boolean {
    return this.indexOf(v) >= 0;
  }

  /** Whether every value of [first, last] is a member. */
  containsRange(first: bigint, last: bigint): boolean {
    const i = this.indexOf(first);
    return i >= 0 && this.lasts[i] >= last;
  }

  /** Whether any value of [first, last] is a member. */
  overlaps(first: bigint, last: bigint): boolean {
    const i = this.lowerBound(first);
    return i < this.firsts.length && this.firsts[i] <= last;
  }

  /** The smallest member >= v, or undefined. */
  nextAtOrAfter(v: bigint): bigint | undefined {
    const i = this.lowerBound(v);
    if (i >= this.firsts.length) return undefined;
    return this.firsts[i] > v ? this.firsts[i] : v;
  }

  /** The i-th smallest member (0-based), or undefined when i is out of bounds. */
  nth(i: bigint): bigint | undefined {
    if (i < 0n || i >= this.size) return undefined;
    let lo = 0;
    let hi = this.before.length - 1;
    // Last interval whose before[] <= i.
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.before[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return this.firsts[lo] + (i - this.before[lo]);
  }

  /** Number of members < v (so rankOf(nth(i)) === i). */
  rankOf(v: bigint): bigint {
    const i = this.lowerBound(v);
    if (i >= this.firsts.length) return this.size;
    return this.before[i] + (v > this.firsts[i] ? v - this.firsts[i] : 0n);
  }

  /** Members from `from` (inclusive) upwards, lazily: never materialises the set. */
  *values(from?: bigint): Generator<bigint> {
    let v = from === undefined ? this.first : this.nextAtOrAfter(from);
    if (v === undefined) return;
    for (let i = this.indexOf(v); i < this.firsts.length; i++) {
      if (this.firsts[i] > v) v = this.firsts[i];
      for (; v <= this.lasts[i]; v++) yield v;
    }
  }

  /** The intervals, ascending. */
  intervals(): Interval[] {
    return this.firsts.map((first, i) => ({ first, last: this.lasts[i] }));
  }

  [Symbol.iterator](): Iterator<Interval> {
    return this.intervals()[Symbol.iterator]();
  }

  add(first: bigint, last: bigint): RangeSet {
    return RangeSet.fromRanges([...this.intervals(), [first, last]]);
  }

  union(other: RangeSet): RangeSet {
    return RangeSet.fromRanges([...this.intervals(), ...other.intervals()]);
  }

  subtract(first: bigint, last: bigint): RangeSet {
    toInterval([first, last]);
    if (!this.overlaps(first, last)) return this;
    const firsts: bigint[] = [];
    const lasts: bigint[] = [];
    for (let i = 0; i < this.firsts.length; i++) {
      const a = this.firsts[i];
      const b = this.lasts[i];
      if (b < first || a > last) {
        firsts.push(a);
        lasts.push(b);
        continue;
      }
      // The interval overlaps the hole: keep what sticks out on either side.
      if (a < first) {
        firsts.push(a);
        lasts.push(first - 1n);
      }
      if (b > last) {
        firsts.push(last + 1n);
        lasts.push(b);
      }
    }
    return new RangeSet(firsts, lasts);
  }

  difference(other: RangeSet): RangeSet {
    return other.intervals().reduce<RangeSet>((acc, r) => acc.subtract(r.first, r.last), this);
  }

  /** Members that also lie in [first, last]. */
  clip(first: bigint, last: bigint): RangeSet {
    toInterval([first, last]);
    const firsts: bigint[] = [];
    const lasts: bigint[] = [];
    for (let i = 0; i < this.firsts.length; i++) {
      const a = this.firsts[i] > first ? this.firsts[i] : first;
      const b = this.lasts[i] < last ? this.lasts[i] : last;
      if (a <= b) {
        firsts.push(a);
        lasts.push(b);
      }
    }
    return new RangeSet(firsts, lasts);
  }

  equals(other: RangeSet): boolean {
    return (
      this.firsts.length === other.firsts.length && this.firsts.every((f, i) => f === other.firsts[i] && this.lasts[i] === other.lasts[i])
    );
  }

  /** Renders intervals with a formatter, "a-b" or "a" for singletons, comma-separated. */
  toString(format: (v: bigint) => string = v => v.toString()): string {
    return this.intervals()
      .map(({ first, last }) => (first === last ? format(first) : `${format(first)}-${format(last)}`))
      .join(", ");
  }
}
