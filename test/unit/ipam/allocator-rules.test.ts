// PoolAllocator edge cases with hand-written expected addresses: the text API's family checks,
// owner names, value bounds, rebuild's skip reasons, releases of addresses the layout no longer
// makes usable, and the error texts (claim conditions show them).
import assert from "node:assert/strict";
import { InvalidAddressError, PoolAllocator, poolLayout } from "../../../capabilities/ipam";
import { pool } from "./pool-fixture";

describe("ipam/PoolAllocator, edge cases", () => {
  it("names itself after the CIDR unless given a name", () => {
    assert.equal(new PoolAllocator(poolLayout({ cidr: "10.0.0.0/30" })).name, "10.0.0.0/30");
    const full = new PoolAllocator(poolLayout({ cidr: "10.0.0.0/30", exclude: ["10.0.0.0/30"] }));
    assert.throws(() => full.allocate("a"), { message: "pool 10.0.0.0/30 has no free address: 0 held, capacity 0" });
  });

  it("counts: capacity, held, free", () => {
    const a = pool({ cidr: "10.0.0.0/29" });
    assert.deepEqual([a.capacity, a.allocatedCount, a.freeCount], [6n, 0, 6n]);
    a.allocate("a");
    a.markTaken("10.0.0.0", "outside-usable"); // the network address: held but not usable
    assert.deepEqual([a.allocatedCount, a.freeCount], [2, 5n]);
    assert.throws(() => ["b", "c", "d", "e", "f", "g"].forEach(o => a.allocate(o)), {
      message: "pool p has no free address: 7 held, capacity 6",
    });
  });

  it("refuses empty or non-string owners with a TypeError, also through tryAllocate", () => {
    const a = pool({ cidr: "10.0.0.0/29" });
    assert.throws(() => a.allocate(""), TypeError);
    assert.throws(() => a.tryAllocate(""), TypeError);
    assert.throws(() => a.markTaken("10.0.0.2", ""), TypeError);
    assert.throws(() => a.allocateValue(5 as unknown as string), TypeError);
    assert.equal(a.allocatedCount, 0);
  });

  it("the other family: requests are out of range, releases and lookups find nothing", () => {
    const a = pool({ cidr: "10.0.0.0/29" });
    a.allocate("a");
    assert.throws(() => a.allocate("b", "fd00::1"), {
      message: "fd00::1 cannot be taken from pool p: it is IPv6 but the pool is IPv4 (10.0.0.0/29)",
    });
    assert.equal(a.release("fd00::1"), false);
    assert.equal(a.holderOf("::a00:1"), undefined);
    assert.equal(a.holderOf("10.0.0.1"), "a");
    assert.throws(() => a.release("nope"), InvalidAddressError);
    const v6 = pool({ cidr: "fd00::/120" });
    assert.throws(() => v6.markTaken("10.0.0.1", "x"), {
      message: "10.0.0.1 cannot be taken from pool p: it is IPv4 but the pool is IPv6 (fd00::/120)",
    });
  });

  it("values beyond the family's range are invalid addresses", () => {
    const a = pool({ cidr: "10.0.0.0/29" });
    assert.throws(
      () => a.allocateValue("a", -1n),
      (e: unknown) => e instanceof InvalidAddressError && e.value === "-1" && e.reason === "is not an IPv4 address value",
    );
    assert.throws(
      () => a.allocateValue("a", 1n << 32n),
      (e: unknown) => e instanceof InvalidAddressError && e.reason === "is not an IPv4 address value",
    );
    assert.throws(() => a.allocateValue("a", 0xffffffffn), {
      message: "255.255.255.255 cannot be taken from pool p: it is outside 10.0.0.0/29",
    });
    const v6 = pool({ cidr: "fd00::/120" });
    assert.throws(
      () => v6.allocateValue("a", 1n << 128n),
      (e: unknown) => e instanceof InvalidAddressError && e.reason === "is not an IPv6 address value",
    );
    assert.equal(a.allocateValue("a", 0x0a000003n), 0x0a000003n);
    assert.equal(a.addressValueOf("a"), 0x0a000003n);
    assert.equal(a.addressValueOf("b"), undefined);
  });

  it("request errors say which address, which pool and why", () => {
    const a = pool({ cidr: "10.0.0.0/29", gateway: "10.0.0.1" });
    a.allocate("a", "10.0.0.2");
    assert.throws(() => a.allocate("b", "10.0.0.1"), { message: "10.0.0.1 cannot be taken from pool p: it is the gateway of the pool" });
    assert.throws(() => a.allocate("b", "10.0.0.2"), { message: "10.0.0.2 is already held by a in pool p" });
    assert.throws(() => a.allocate("a", "10.0.0.3"), {
      message: "a already holds 10.0.0.2 in pool p and cannot also take 10.0.0.3; release 10.0.0.2 first",
    });
    assert.equal(a.checkRequest("a", "10.0.0.3")?.code, "Conflict");
    assert.equal(a.checkRequest("b", "10.0.0.9")?.code, "OutOfRange");
    assert.equal(a.checkRequest("b", "10.0.0.1")?.code, "Excluded");
    assert.equal(a.checkRequest("b", "bad")?.code, "InvalidAddress");
  });

  it("rebuild: each skip reason, owners and counts reset, the cursor above the highest usable record", () => {
    const a = pool({ cidr: "10.0.0.0/28", gateway: "10.0.0.1" });
    a.allocate("old");
    a.release(a.addressOf("old") as string);
    const result = a.rebuild([
      { address: "10.0.0.4", owner: "a" },
      { address: "10.0.0.4", owner: "b" },
      { address: "10.0.0.6", owner: "" },
      { address: "fd00::1", owner: "c" },
      { address: "10.0.0.300", owner: "d" },
      { address: "10.0.0.15", owner: "broadcast-holder" }, // held, but not usable: does not move the cursor
    ]);
    assert.deepEqual(result, {
      loaded: 2,
      skipped: [
        { address: "10.0.0.4", owner: "b", reason: "is already held by a" },
        { address: "10.0.0.6", owner: "", reason: "has no owner" },
        { address: "fd00::1", owner: "c", reason: "is IPv6 but the pool is IPv4" },
        { address: "10.0.0.300", owner: "d", reason: '"10.0.0.300" is not an IPv4 address (four decimal numbers 0-255, no leading zeros)' },
      ],
    });
    assert.deepEqual([a.allocatedCount, a.freeCount], [2, 12n]);
    assert.equal(a.addressOf("old"), undefined);
    assert.equal(a.allocate("n1"), "10.0.0.5", "the cursor continues above 10.0.0.4");
    // The release history is gone: .2 (released before the rebuild) waits for a second lap.
    assert.deepEqual(
      ["n2", "n3", "n4"].map(o => a.allocate(o)),
      ["10.0.0.6", "10.0.0.7", "10.0.0.8"],
    );
    const empty = pool({ cidr: "10.0.0.0/28" });
    empty.allocate("x");
    assert.deepEqual(empty.rebuild([]), { loaded: 0, skipped: [] });
    assert.equal(empty.allocate("y"), "10.0.0.1", "an empty rebuild starts from the lowest usable address");
  });

  it("releasing an address the layout does not make usable frees it without queueing it", () => {
    const a = pool({ cidr: "10.0.0.0/29", exclude: ["10.0.0.6"] });
    a.markTaken("10.0.0.6", "x");
    assert.deepEqual([a.allocatedCount, a.freeCount], [1, 5n]);
    assert.equal(a.release("10.0.0.6"), true);
    assert.equal(a.holderOf("10.0.0.6"), undefined);
    assert.deepEqual([a.allocatedCount, a.freeCount], [0, 5n]);
    assert.deepEqual(
      ["a", "b", "c", "d", "e"].map(o => a.allocate(o)),
      ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"],
    );
    assert.equal(a.tryAllocate("f").ok, false, "the excluded address never comes back");
  });

  it("markTaken: same owner again is a no-op; another owner takes it over; a released one leaves the FIFO", () => {
    const a = pool({ cidr: "10.0.0.0/29" });
    a.allocate("a");
    a.markTaken("10.0.0.1", "a");
    assert.deepEqual([a.allocatedCount, a.addressesOf("a")], [1, ["10.0.0.1"]]);
    a.markTaken("10.0.0.1", "b");
    assert.deepEqual([a.allocatedCount, a.addressesOf("a"), a.addressesOf("b")], [1, [], ["10.0.0.1"]]);
    a.release("10.0.0.1");
    a.markTaken("10.0.0.1", "c");
    assert.deepEqual([a.allocatedCount, a.freeCount], [1, 5n]);
    // .1 is held, not queued: the next five are the never-used ones, then the pool is full.
    assert.deepEqual(
      ["d", "e", "f", "g", "h"].map(o => a.allocate(o)),
      ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"],
    );
    assert.equal(a.tryAllocate("i").ok, false);
  });

  it("an owner holding two addresses (racing writers) releases both and keeps the other until then", () => {
    const a = pool({ cidr: "10.0.0.0/29" });
    a.markTaken("10.0.0.2", "o");
    a.markTaken("10.0.0.5", "o");
    a.markTaken("10.0.0.3", "o");
    assert.deepEqual(a.addressesOf("o"), ["10.0.0.2", "10.0.0.5", "10.0.0.3"]);
    a.release("10.0.0.5");
    assert.deepEqual(a.addressesOf("o"), ["10.0.0.2", "10.0.0.3"]);
    a.release("10.0.0.2");
    assert.deepEqual([a.addressOf("o"), a.addressesOf("o")], ["10.0.0.3", ["10.0.0.3"]]);
    assert.deepEqual(a.releaseOwner("o"), ["10.0.0.3"]);
    assert.deepEqual(a.releaseOwner("o"), []);
    assert.equal(a.allocatedCount, 0);
  });

  it("rememberReleased 0 forgets every release; a negative value counts as 0", () => {
    for (const n of [0, -3]) {
      const a = pool({ cidr: "10.0.0.0/29" }, n);
      ["a", "b", "c"].forEach(o => a.allocate(o));
      a.release("10.0.0.3");
      a.release("10.0.0.1");
      // Nothing remembered: after the never-used .4-.6, the second lap hands out the lowest free first.
      assert.deepEqual(
        ["d", "e", "f", "g", "h"].map(o => a.allocate(o)),
        ["10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.1", "10.0.0.3"],
        String(n),
      );
    }
  });

  it("IPv6 pools of /88 and narrower never need the MAC check; /87 and wider do", () => {
    // In a /87, fd00::1 and fd00::100:0:1 share their low 40 bits; in a /88 two addresses never do.
    const wide = pool({ cidr: "fd00::/87" });
    wide.allocate("a", "fd00::1");
    assert.equal(wide.tryAllocate("b", "fd00::100:0:1").ok, false);
    const narrow = pool({ cidr: "fd00::/88" });
    narrow.allocate("a", "fd00::1");
    assert.throws(() => narrow.allocate("b", "fd00::100:0:1"), {
      message: "fd00::100:0:1 cannot be taken from pool p: it is outside fd00::/88",
    });
    // A MAC twin released frees its MAC too.
    wide.release("fd00::1");
    assert.equal(wide.allocate("b", "fd00::100:0:1"), "fd00::100:0:1");
    assert.equal(wide.allocate("c"), "fd00::2", "fd00::1 is a twin of a held address now, and is skipped");
  });
});

// The release FIFO's bookkeeping, seen through rememberReleased: with room for one remembered
// release, the order in which freed addresses come back shows whether each take, hand-out and
// forget was counted.
describe("ipam/PoolAllocator, release bookkeeping", () => {
  const full = (remember: number): PoolAllocator => {
    const a = pool({ cidr: "10.0.0.0/29" }, remember);
    ["o1", "o2", "o3", "o4", "o5", "o6"].forEach(o => a.allocate(o));
    return a;
  };
  const drain = (a: PoolAllocator, n: number): string[] => Array.from({ length: n }, (_, i) => a.allocate(`n${i}`));

  it("a released address taken back by markTaken leaves the count of remembered releases", () => {
    const a = full(1);
    a.release("10.0.0.1");
    a.markTaken("10.0.0.1", "x");
    a.release("10.0.0.2");
    a.release("10.0.0.3"); // one remembered: .2 is forgotten, .3 kept
    assert.deepEqual(drain(a, 2), ["10.0.0.3", "10.0.0.2"]);
  });

  it("markTaken of a never-released address does not change that count", () => {
    const a = pool({ cidr: "10.0.0.0/29" }, 1);
    ["o1", "o2", "o3", "o4", "o5"].forEach(o => a.allocate(o));
    a.markTaken("10.0.0.6", "y");
    a.release("10.0.0.2");
    a.release("10.0.0.3");
    assert.deepEqual(drain(a, 2), ["10.0.0.3", "10.0.0.2"]);
  });

  it("a request for a never-released address does not change that count either", () => {
    const a = pool({ cidr: "10.0.0.0/29" }, 1);
    ["o1", "o2", "o3", "o4", "o5"].forEach(o => a.allocate(o));
    assert.equal(a.allocate("y", "10.0.0.6"), "10.0.0.6");
    a.release("10.0.0.2");
    a.release("10.0.0.3"); // one remembered: .2 is forgotten, .3 kept
    assert.deepEqual(drain(a, 2), ["10.0.0.3", "10.0.0.2"]);
  });

  it("a released address requested back leaves the count too", () => {
    const a = full(1);
    a.release("10.0.0.2");
    assert.equal(a.allocate("back", "10.0.0.2"), "10.0.0.2");
    a.release("10.0.0.3");
    a.release("10.0.0.4"); // .3 forgotten, .4 kept
    assert.deepEqual(drain(a, 2), ["10.0.0.4", "10.0.0.3"]);
  });

  it("handing out a remembered release makes room for the next one", () => {
    const a = full(2);
    a.release("10.0.0.1");
    a.release("10.0.0.2");
    assert.equal(a.allocate("x"), "10.0.0.1");
    a.release("10.0.0.3"); // two remembered (.2, .3): nothing forgotten
    assert.deepEqual(drain(a, 2), ["10.0.0.2", "10.0.0.3"]);
  });

  it("records loaded by rebuild are not remembered releases", () => {
    const a = pool({ cidr: "10.0.0.0/29" }, 1);
    a.rebuild(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"].map((address, i) => ({ address, owner: `r${i}` })));
    a.release("10.0.0.2");
    a.release("10.0.0.3"); // one remembered: .2 forgotten
    assert.deepEqual(drain(a, 2), ["10.0.0.3", "10.0.0.2"]);
  });

  it("a release after the FIFO ran dry is remembered", () => {
    const a = pool({ cidr: "10.0.0.0/29" });
    a.rebuild([{ address: "10.0.0.3", owner: "x" }]);
    assert.deepEqual(drain(a, 5), ["10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.1", "10.0.0.2"]);
    a.release("10.0.0.5");
    assert.equal(a.allocate("again"), "10.0.0.5");
  });

  it("rebuild forgets owners not in the records, and continues above the highest record in any order", () => {
    const a = pool({ cidr: "10.0.0.0/28" });
    a.allocate("gone");
    a.rebuild([
      { address: "10.0.0.9", owner: "a" },
      { address: "10.0.0.5", owner: "b" },
    ]);
    assert.deepEqual([a.addressOf("gone"), a.addressesOf("gone")], [undefined, []]);
    assert.equal(a.allocate("c"), "10.0.0.10");
    const skipped = pool({ cidr: "10.0.0.0/28" }).rebuild([{ address: "10.0.0.5", owner: undefined as unknown as string }]);
    assert.deepEqual(skipped.skipped, [{ address: "10.0.0.5", owner: undefined, reason: "has no owner" }]);
  });

  it("an owner holding two addresses gets either back when it asks for it, and keeps its first", () => {
    const a = pool({ cidr: "10.0.0.0/29" });
    a.markTaken("10.0.0.2", "o");
    a.markTaken("10.0.0.5", "o");
    assert.equal(a.allocate("o", "10.0.0.5"), "10.0.0.5");
    a.markTaken("10.0.0.2", "o");
    assert.deepEqual(a.addressesOf("o"), ["10.0.0.2", "10.0.0.5"]);
    assert.equal(a.allocate("o"), "10.0.0.2");
  });

  it("the same value in the other family is another address", () => {
    const a = pool({ cidr: "10.0.0.0/29" });
    a.allocate("a", "10.0.0.1");
    assert.equal(a.release("::a00:1"), false);
    assert.equal(a.holderOf("10.0.0.1"), "a");
    assert.throws(() => a.allocateValue("z", 0n), { message: "0.0.0.0 cannot be taken from pool p: it is outside 10.0.0.0/29" });
    assert.throws(() => a.allocate(""), { name: "TypeError", message: "owner must be a non-empty string" });
  });
});
