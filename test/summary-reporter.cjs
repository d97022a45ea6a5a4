// Mocha's spec reporter plus the closing line CI reads: "N passed, N failed[ (why)][, N skipped]".
//
// Honest by construction:
// - a test that never ran because a hook failed (or a global fixture failed) counts as failed and
//   the line says so; a failed hook counts as a failure of its own;
// - a run that executes no test fails (exit code 1 and "no test ran");
// - the line is written synchronously from Mocha's reporter `done` callback, which Mocha calls
//   before it exits (also with --exit), and from the process's "exit" event if the process ends
//   any other way (process.exit in a test, a fatal error), which then also fails the run.
const Mocha = require("mocha");
const { EVENT_RUN_BEGIN, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING } = Mocha.Runner.constants;

/** The closing line from the counts; pure so the rule has one home. */
function summaryLine({ defined, passed, failedTests, pending, hookFailures, fixtureFailures, finished }) {
  const notRun = Math.max(0, defined - passed - failedTests - pending);
  const executed = passed + failedTests;
  const counted = failedTests + notRun + hookFailures + fixtureFailures;
  const failed = counted === 0 && (executed === 0 || !finished) ? 1 : counted;
  const why = [];
  if (!finished) why.push("the run ended before mocha finished");
  if (fixtureFailures) why.push(`${fixtureFailures} global fixture${fixtureFailures > 1 ? "s" : ""} failed`);
  if (hookFailures) why.push(`${hookFailures} hook${hookFailures > 1 ? "s" : ""} failed`);
  if (notRun) why.push(`${notRun} test${notRun > 1 ? "s" : ""} did not run`);
  if (executed === 0) why.push("no test ran");
  return {
    line: `${passed} passed, ${failed} failed${why.length ? ` (${why.join("; ")})` : ""}${pending ? `, ${pending} skipped` : ""}`,
    failed,
  };
}

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    this.runner = runner;
    this.printed = false;
    this.began = false;
    this.passed = new Set();
    this.failed = new Set();
    this.pendingTests = new Set();
    this.hookFailures = 0;
    runner.once(EVENT_RUN_BEGIN, () => (this.began = true));
    runner.on(EVENT_TEST_PASS, test => this.passed.add(test));
    runner.on(EVENT_TEST_PENDING, test => this.pendingTests.add(test));
    runner.on(EVENT_TEST_FAIL, runnable => {
      if (runnable.type === "hook") this.hookFailures++;
      else this.failed.add(runnable);
    });
    // Whatever ends the process, the line is written (process.stdout is synchronous for files and pipes).
    process.once("exit", () => {
      if (this.printed) return;
      this.print(0, false);
      if (!process.exitCode) process.exitCode = 1;
    });
  }

  counts(failuresSeenByMocha, finished) {
    const failedTests = [...this.failed].length;
    const passed = [...this.passed].filter(t => !this.failed.has(t)).length;
    // Mocha's own count minus what the runner saw: global setup/teardown failures.
    const runnerFailures = this.began ? this.runner.failures : 0;
    const fixtureFailures = Math.max(0, failuresSeenByMocha - runnerFailures);
    return {
      defined: this.runner.total,
      passed,
      failedTests,
      pending: this.pendingTests.size,
      hookFailures: this.hookFailures,
      fixtureFailures,
      finished,
    };
  }

  print(failuresSeenByMocha, finished) {
    this.printed = true;
    const summary = summaryLine(this.counts(failuresSeenByMocha, finished));
    process.stdout.write(`${summary.line}\n`);
    return summary;
  }

  /** Called by Mocha after the run and global teardown, before it exits; `fn` takes the exit code. */
  done(failures, fn) {
    const { failed } = this.print(failures, true);
    fn(failed > 0 ? Math.max(failures, failed, 1) : failures);
  }
}

module.exports = SummaryReporter;
module.exports.summaryLine = summaryLine;
