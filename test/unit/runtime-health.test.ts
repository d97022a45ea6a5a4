// The start watchdog: a Pepr that never binds its routes makes the process give up (and restart).
import assert from "node:assert/strict";
import { onNeverPassing } from "../../capabilities/runtime/health";

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

describe("onNeverPassing (Pepr start watchdog)", () => {
  it("gives up once the deadline passes without the check passing", async () => {
    let gaveUp = 0;
    onNeverPassing(
      () => false,
      30,
      () => gaveUp++,
      10,
    );
    await sleep(120);
    assert.equal(gaveUp, 1);
  });

  it("never gives up once the check has passed", async () => {
    let gaveUp = 0;
    let calls = 0;
    onNeverPassing(
      async () => ++calls >= 2,
      60,
      () => gaveUp++,
      10,
    );
    await sleep(150);
    assert.equal(gaveUp, 0);
    assert.equal(calls, 2);
  });
});
