// The line ranges of stryker.config.json still stand on the functions they are meant for
// (test/mutation/ranges.ts): an edit above them, or the tree's reformat, moves the functions;
// then this fails and `npx tsx test/mutation/ranges.ts --write` puts the ranges back on them.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { computed, configured, RANGED, rewritten, ROOT } from "../mutation/ranges";

describe("stryker.config.json line ranges", () => {
  it("each ranged file is named in RANGED, and each range is its functions' lines (doc comment to closing brace)", () => {
    for (const [file, ranges] of configured()) {
      const groups = RANGED[file];
      assert.ok(groups, `${file} has line ranges in stryker.config.json but no functions in test/mutation/ranges.ts RANGED`);
      assert.equal(ranges.length, groups.length, `${file}: as many ranges as RANGED groups`);
      ranges.forEach((r, i) =>
        assert.deepEqual(
          r,
          computed(file, groups[i]),
          `${file}:${r.from}-${r.to} no longer covers ${groups[i].join(", ")}: run npx tsx test/mutation/ranges.ts --write`,
        ),
      );
    }
  });

  it("computes a range from the doc comment to the closing brace, whatever lines the config had", () => {
    const file = "capabilities/controllers/migration-controller.ts";
    const [entry] = rewritten([`${file}:1-2`]);
    const [from, to] = entry
      .slice(file.length + 1)
      .split("-")
      .map(Number);
    const lines = fs.readFileSync(path.join(ROOT, file), "utf8").split("\n");
    assert.match(lines[from - 1], /^\/\*\*/, "starts at the doc comment");
    assert.match(lines[from], /^export function targetKept\(/);
    assert.equal(lines[to - 1], "}", "ends at the closing brace");
    assert.ok(!lines.slice(from, to - 1).some(l => l === "}"), "one function, not more");
    assert.deepEqual(rewritten(["capabilities/ipam/mac.ts"]), ["capabilities/ipam/mac.ts"], "whole files stay as they are");
  });
});
