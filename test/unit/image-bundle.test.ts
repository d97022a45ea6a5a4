// The operator's bundle leaves out the packages Node has built in (hack/image/bundle.ts
// BUILTIN_INSTEAD), and the reason it may still holds in the installed packages.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BUILTIN_INSTEAD, bundleOperator } from "../../hack/image/bundle";

const ROOT = path.join(__dirname, "..", "..");

describe("the operator bundle (hack/image/bundle.ts)", function () {
  this.timeout(120_000);
  let inputs: string[] = [];

  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmnet-bundle-test-"));
    const bundle = await bundleOperator(dir);
    inputs = bundle.inputs;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("carries neither whatwg-url nor its tr46 tables, but the stand-in", () => {
    assert.deepEqual(
      inputs.filter(i => /node_modules\/(whatwg-url|tr46)\//.test(i)),
      [],
    );
    assert.ok(inputs.includes("builtin-instead:whatwg-url"), `inputs: ${inputs.filter(i => i.includes("builtin")).join(", ")}`);
  });

  it("node-fetch, the only importer, prefers Node's URL, so the stand-in is never its only URL", () => {
    const importers = inputs.filter(
      i => i.startsWith("node_modules/") && /require\(["']whatwg-url["']\)/.test(fs.readFileSync(path.join(ROOT, i), "utf8")),
    );
    assert.deepEqual(importers, ["node_modules/node-fetch/lib/index.js"]);
    assert.match(fs.readFileSync(path.join(ROOT, importers[0]), "utf8"), /const URL = Url\.URL \|\| whatwgUrl\.URL;/);
  });

  it("the stand-in gives Node's own URL classes", () => {
    const m = { exports: {} as { URL?: unknown; URLSearchParams?: unknown } };
    new Function("module", "require", BUILTIN_INSTEAD["whatwg-url"])(m, require);
    assert.equal(m.exports.URL, URL);
    assert.equal(m.exports.URLSearchParams, URLSearchParams);
  });
});
