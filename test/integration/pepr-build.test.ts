// `pepr build` turns the module into deployable manifests and a Helm chart: the chart's values
// validate against its own values schema, and the manifests pass a server-side dry run.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import Ajv from "ajv";
import draft6 from "ajv/dist/refs/json-schema-draft-06.json";
import yaml from "js-yaml";
import { cluster } from "../setup/cluster";

const run = promisify(execFile);
const ROOT = path.join(__dirname, "..", "..");

describe("pepr build", function () {
  this.timeout(300_000);
  let out = "";

  before(async () => {
    // Pepr writes the chart and manifests beside its default output only (dist/, ignored by git).
    out = path.join(ROOT, "dist");
    fs.rmSync(out, { recursive: true, force: true });
    await run(process.execPath, [path.join(ROOT, "node_modules", "pepr", "dist", "cli.js"), "build", "-i", "vmnet-operator:0.1.0"], {
      cwd: ROOT,
      maxBuffer: 64 * 2 ** 20,
    });
  });

  it("writes a Helm chart whose values validate against its values schema", () => {
    const chart = path.join(out, "vmnet-operator-chart");
    const schema = JSON.parse(fs.readFileSync(path.join(chart, "values.schema.json"), "utf8"));
    const values = yaml.load(fs.readFileSync(path.join(chart, "values.yaml"), "utf8"));
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addMetaSchema(draft6);
    const validate = ajv.compile(schema);
    assert.ok(validate(values), JSON.stringify(validate.errors, null, 2));
  });

  it("writes manifests that the real API server accepts in a server-side dry run", async () => {
    const file = fs.readdirSync(out).find(f => f.endsWith(".yaml") && f.startsWith("pepr-module-"));
    assert.ok(file, `no module manifest in ${fs.readdirSync(out).join(", ")}`);
    const kinds = (yaml.loadAll(fs.readFileSync(path.join(out, file), "utf8")) as { kind?: string }[]).map(o => o?.kind);
    assert.ok(
      kinds.includes("MutatingWebhookConfiguration") && kinds.includes("ValidatingWebhookConfiguration") && kinds.includes("Deployment"),
    );
    const { controlPlane } = cluster();
    const { stdout } = await run(path.join(controlPlane.binDir, "kubectl"), [
      "--kubeconfig",
      controlPlane.kubeconfig,
      "apply",
      "--server-side",
      "--dry-run=server",
      "-f",
      path.join(out, file),
    ]);
    assert.match(stdout, /serverside-applied \(server dry run\)/);
  });
});
