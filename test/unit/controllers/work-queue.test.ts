import assert from "node:assert/strict";
import { done, keyId, requeueAfter, terminal, TerminalError, vmKey, WorkKey } from "../../../capabilities/controllers/reconcile";
import { WorkQueue } from "../../../capabilities/controllers/work-queue";
import { apiError } from "../../../capabilities/k8s/errors";

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

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
    const q = new WorkQueue(
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        runs++;
        await new Promise(r => setTimeout(r, 20));
        active--;
      },
      { concurrency: 4 },
    );
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
    const q = new WorkQueue(
      async () => {
        times.push(Date.now());
        if (times.length < 4) throw new Error("transient");
      },
      { baseDelayMs: 20 },
    );
    q.add("flaky");
    await q.idle();
    assert.equal(times.length, 4);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    assert.ok(gaps[0] >= 9 && gaps[2] >= 39, `gaps grow with backoff: ${gaps}`);
  });

  it("dedupes typed keys by their id", async () => {
    const runs: string[] = [];
    const q = new WorkQueue<WorkKey>(async k => void runs.push(keyId(k)), { concurrency: 1, id: keyId });
    q.add({ kind: "pool", name: "block" });
    for (let i = 0; i < 5; i++) q.add(vmKey("t", "web"));
    q.add(vmKey("t", "db"));
    await q.idle();
    assert.deepEqual(runs, ["pool/block", "vm/t/web", "vm/t/db"]);
  });

  it("runs a key again after the delay a requeue result asks for, not before, and counts no failure", async () => {
    const times: number[] = [];
    const q = new WorkQueue(async () => {
      times.push(Date.now());
      return times.length === 1 ? requeueAfter(60) : done;
    });
    q.add("k");
    await sleep(30);
    assert.equal(times.length, 1, "not before the delay");
    assert.equal(q.depth, 1, "waiting for its requeue");
    await q.idle();
    assert.equal(times.length, 2);
    assert.ok(times[1] - times[0] >= 55, `after the delay: ${times[1] - times[0]} ms`);
    assert.equal(q.failures("k"), 0);
  });

  it("does not retry a terminal result or a thrown 422, and reports each once", async () => {
    const reported: string[] = [];
    const retried: string[] = [];
    let runs = 0;
    const q = new WorkQueue(
      async key => {
        runs++;
        if (key === "returned") return terminal(new TerminalError("InvalidSpec", "spec.cidr is not a CIDR"));
        throw apiError(422, "Invalid", "create IPAllocation x: 422 Invalid: spec.address: Invalid value");
      },
      { baseDelayMs: 1, onError: k => void retried.push(k), onTerminal: (k, err) => void reported.push(`${k} ${err.reason}`) },
    );
    q.add("returned");
    q.add("thrown");
    await q.idle();
    await sleep(20); // a retry after a 1 ms backoff would have run by now
    assert.equal(runs, 2);
    assert.deepEqual(retried, []);
    assert.deepEqual(reported.sort(), ["returned InvalidSpec", "thrown Invalid"]);
    q.add("thrown");
    await q.idle();
    assert.equal(runs, 3, "a new event runs it again");
    assert.equal(reported.length, 2, "the same terminal error is reported once");
  });

  it("retries 409, 429, 5xx and failed connections with a backoff that grows per key, and forgets it on success", async () => {
    const statuses = [409, 429, 503, 0];
    const gaps: number[] = [];
    let last = 0;
    const attempts: number[] = [];
    const q = new WorkQueue(
      async () => {
        const now = Date.now();
        if (last) gaps.push(now - last);
        last = now;
        const status = statuses.shift();
        if (status !== undefined) throw apiError(status, status === 409 ? "Conflict" : "", `status ${status}`);
      },
      { baseDelayMs: 10, onError: (_k, _e, attempt) => void attempts.push(attempt), onTerminal: () => assert.fail("not terminal") },
    );
    q.add("k");
    await sleep(1);
    assert.equal(q.failures("k"), 1);
    await q.idle();
    assert.deepEqual(attempts, [1, 2, 3, 4]);
    assert.ok(gaps[3] >= 39, `the fourth retry waits at least half of 80 ms: ${gaps}`);
    assert.equal(q.failures("k"), 0, "success forgets the failures");
  });
});
