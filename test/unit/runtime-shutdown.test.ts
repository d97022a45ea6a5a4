// The SIGTERM order of an admission pod (capabilities/runtime/shutdown.ts): Pepr's own SIGTERM
// listener (close its server, exit) runs only after the front server's drain has settled, once.
import assert from "node:assert/strict";
import { runFirstOnSigterm } from "../../capabilities/runtime/shutdown";

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

describe("runFirstOnSigterm (admission shutdown order)", () => {
  const before = new Set(process.listeners("SIGTERM"));
  afterEach(() => {
    for (const l of process.listeners("SIGTERM")) if (!before.has(l)) process.removeListener("SIGTERM", l);
  });

  it("holds the listeners `start` registers until `first` has settled, and runs them once", async () => {
    const order: string[] = [];
    runFirstOnSigterm(
      () => void process.on("SIGTERM", () => order.push("pepr stops")),
      async () => {
        order.push("drain begins");
        await sleep(50);
        order.push("drain ends");
      },
    );
    process.emit("SIGTERM", "SIGTERM");
    process.emit("SIGTERM", "SIGTERM"); // a second signal starts nothing new
    assert.deepEqual(order, ["drain begins"], "Pepr's listener did not run at the signal itself");
    await sleep(100);
    assert.deepEqual(order, ["drain begins", "drain ends", "pepr stops"]);
  });

  it("still stops Pepr when the drain fails", async () => {
    let stopped = false;
    runFirstOnSigterm(
      () => void process.on("SIGTERM", () => (stopped = true)),
      async () => {
        throw new Error("drain failed");
      },
    );
    process.emit("SIGTERM", "SIGTERM");
    await sleep(20);
    assert.equal(stopped, true);
  });
});
