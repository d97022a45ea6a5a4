// The closing "N passed, N failed" line and exit code of test/summary-reporter.cjs, checked by
// running mocha on tiny fixture specs in a child process (the way CI runs it: --exit, no config).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const FIXTURES = "test/fixtures/reporter";

interface Run {
  code: number;
  lastLine: string;
}

function runMocha(spec: string, extra: string[] = []): Promise<Run> {
  const args = [
    path.join(ROOT, "node_modules/mocha/bin/mocha.js"),
    "--no-config",
    "--reporter",
    "test/summary-reporter.cjs",
    "--exit",
    ...extra,
    `${FIXTURES}/${spec}`,
  ];
  return new Promise(resolve => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: 20_000, env: { ...process.env, NO_COLOR: "1" } }, (err, stdout) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      const lines = stdout.trimEnd().split("\n");
      resolve({ code, lastLine: lines[lines.length - 1] });
    });
  });
}

describe("summary reporter (mocha in a child process)", function () {
  this.timeout(30_000);

  it("counts tests that never ran because a before hook failed as failed, and the hook itself", async () => {
    // 11 defined: 2 pass, 4 under a failing before hook, 1 fails, 4 skipped.
    const r = await runMocha("hook-failure.spec.cjs");
    assert.equal(r.lastLine, "2 passed, 6 failed (1 hook failed; 4 tests did not run), 4 skipped");
    assert.notEqual(r.code, 0);
  });

  it("counts tests cut short by a failing beforeEach hook", async () => {
    const r = await runMocha("before-each-failure.spec.cjs");
    assert.match(r.lastLine, /^0 passed, 4 failed \(1 hook failed; 3 tests did not run/);
    assert.notEqual(r.code, 0);
  });

  it("fails the run when an after hook fails although every test passed", async () => {
    const r = await runMocha("after-failure.spec.cjs");
    assert.equal(r.lastLine, "1 passed, 1 failed (1 hook failed)");
    assert.notEqual(r.code, 0);
  });

  it("fails a run that executes no test", async () => {
    const r = await runMocha("empty.spec.cjs");
    assert.equal(r.lastLine, "0 passed, 1 failed (no test ran)");
    assert.equal(r.code, 1);
  });

  it("fails a run whose every test is skipped", async () => {
    const r = await runMocha("all-skipped.spec.cjs");
    assert.equal(r.lastLine, "0 passed, 1 failed (no test ran), 2 skipped");
    assert.equal(r.code, 1);
  });

  it("prints the line with --exit while a test left a timer running", async () => {
    const r = await runMocha("open-handle.spec.cjs");
    assert.equal(r.lastLine, "2 passed, 0 failed");
    assert.equal(r.code, 0);
  });

  it("prints the line and fails when a test ends the process itself", async () => {
    const r = await runMocha("process-exit.spec.cjs");
    assert.equal(r.lastLine, "0 passed, 2 failed (the run ended before mocha finished; 2 tests did not run; no test ran)");
    assert.equal(r.code, 1);
  });

  it("counts every test as not run when the global setup fails", async () => {
    const r = await runMocha("passing.spec.cjs", ["--require", `${FIXTURES}/failing-global-setup.cjs`]);
    assert.match(r.lastLine, /^0 passed, 3 failed \(1 global fixture failed; 2 tests did not run/);
    assert.notEqual(r.code, 0);
  });

  it("passes a clean run", async () => {
    const r = await runMocha("passing.spec.cjs");
    assert.equal(r.lastLine, "2 passed, 0 failed");
    assert.equal(r.code, 0);
  });
});
