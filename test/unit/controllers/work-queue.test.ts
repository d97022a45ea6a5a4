import assert from "node:assert/strict";
import { WorkQueue } from "../../../capabilities/controllers/work-queue";

describe("WorkQueue", () => {
  it("coalesces a key added many times while it waits", async () => {
    const runs: string[] = [];
    const q = new WorkQueue(async k => void runs.push(k), { concurrency: 1 });
    q.add("block");
    for (let i = 0; i < 10; i++) q.add("a");
    await q.idle();
    assert.deepEqual(runs, ["block", "a"]);
  });

  it("never runs one key twice at once, and re-runs it once when it changed meanwhile", async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const q = new WorkQueue(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs++;
      await new Promise(r => setTimeout(r, 20));
      active--;
    }, { concurrency: 4 });
    q.add("k");
    await new Promise(r => setTimeout(r, 5));
    q.add("k");
    q.add("k");
    await q.idle();
    assert.equal(maxActive, 1);
    assert.equal(runs, 2);
  });

  it("retries a failing key with growing, jittered delays until it succeeds", async () => {
    const times: number[] = [];
    const q = new WorkQueue(async () => {
      times.push(Date.now());
      if (times.length < 4) throw new Error("transient");
    }, { baseDelayMs: 20 });
    q.add("flaky");
    await q.idle();
    assert.equal(times.length, 4);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    assert.ok(gaps[0] >= 9 && gaps[2] >= 39, `gaps grow with backoff: ${gaps}`);
  });
});
