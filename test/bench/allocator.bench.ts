// Allocator core figures (DESIGN.md section 5): allocate+release ops/s on a /16, rebuild time
// for 100k records, heap for 100k allocations in a /64. A plain script, not a test:
//   npx tsx test/bench/allocator.bench.ts
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { PoolAllocator, formatIP, parseIP, poolLayout } from "../../capabilities/ipam";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function seconds(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
const owners = Array.from({ length: 100_000 }, (_, i) => `tenant-${i % 50}/vm-${i}.nic0`);

/** Half the pool held, then N rounds of "allocate for a new owner, release the oldest holder". */
function churn(label: string, text: boolean, rounds: number): void {
  const a = new PoolAllocator(poolLayout({ cidr: "10.16.0.0/16", gateway: "10.16.0.1" }));
  const live: string[] = [];
  for (let i = 0; i < 32_768; i++) live.push(owners[i]);
  live.forEach(o => a.allocate(o));
  let head = 0;
  const run = (): void => {
    for (let i = 0; i < rounds; i++) {
      const owner = owners[(32_768 + i) % owners.length];
      const victim = live[head];
      if (text) {
        a.allocate(owner);
        a.release(a.addressOf(victim) as string);
      } else {
        a.allocateValue(owner);
        a.releaseValue(a.addressValueOf(victim) as bigint);
      }
      live[head] = owner;
      head = (head + 1) % live.length;
    }
  };
  run(); // warm-up: also moves past the never-used addresses into FIFO reuse
  const s = seconds(run);
  console.log(`${label.padEnd(58)} ${fmt(rounds / s).padStart(12)} allocate+release/s  (held ${a.allocatedCount}, cap ${a.capacity})`);
}

/** Allocate and immediately release, the pattern of a failed create. */
function pingPong(rounds: number): void {
  const a = new PoolAllocator(poolLayout({ cidr: "10.16.0.0/16" }));
  const run = (): void => {
    for (let i = 0; i < rounds; i++) a.releaseValue(a.allocateValue(owners[i % owners.length]));
  };
  run();
  const s = seconds(run);
  console.log(`${"/16, value API, allocate then release at once".padEnd(58)} ${fmt(rounds / s).padStart(12)} allocate+release/s`);
}

function rebuild(): void {
  const cases = [
    { cidr: "10.0.0.0/14", address: (i: number): string => formatIP(4, parseIP("10.0.0.0").value + BigInt(i + 1)) },
    { cidr: "fd00:1::/64", address: (i: number): string => formatIP(6, parseIP("fd00:1::").value + BigInt(i + 1)) },
  ];
  for (const c of cases) {
    const records = owners.map((owner, i) => ({ address: c.address(i * 2), owner }));
    const a = new PoolAllocator(poolLayout({ cidr: c.cidr }));
    a.rebuild(records); // warm-up
    const s = seconds(() => a.rebuild(records));
    console.log(
      `${`rebuild from 100k records, ${c.cidr}`.padEnd(58)} ${(s * 1000).toFixed(0).padStart(9)} ms       (held ${a.allocatedCount})`,
    );
  }
}

function heap(cidr: string, count: number): number {
  const before = heapAfterGc();
  const a = new PoolAllocator(poolLayout({ cidr }));
  for (let i = 0; i < count; i++) a.allocateValue(owners[i]);
  const used = heapAfterGc() - before;
  if (a.allocatedCount !== count) throw new Error("allocation count mismatch");
  console.log(
    `${`heap for ${fmt(count)} allocations in ${cidr}`.padEnd(58)} ${(used / 2 ** 20).toFixed(1).padStart(9)} MiB    (${fmt(used / count)} B/allocation)`,
  );
  return used;
}

console.log(`node ${process.version}, ${process.arch}`);
churn("/16, text API (allocate(owner) + release(address))", true, 1_000_000);
churn("/16, value API (allocateValue + releaseValue)", false, 2_000_000);
pingPong(2_000_000);
rebuild();
heap("10.0.0.0/8", 100_000);
heap("fd00:1::/64", 100_000);
heap("fd00:1::/112", 60_000);
