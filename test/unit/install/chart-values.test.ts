// The chart's values.yaml (written with comments) says what VALUES says and validates against
// values.schema.json; the schema refuses what the templates cannot render.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import Ajv from "ajv";
import yaml from "js-yaml";
import { CHART_DIR, VALUES, VALUES_SCHEMA } from "../../../hack/install/chart";

const ROOT = path.join(__dirname, "..", "..", "..");

describe("chart values", () => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile(VALUES_SCHEMA);

  it("values.yaml holds the defaults and validates against the schema", () => {
    const values = yaml.load(fs.readFileSync(path.join(ROOT, CHART_DIR, "values.yaml"), "utf8"));
    assert.deepEqual(values, VALUES);
    assert.ok(validate(values), JSON.stringify(validate.errors));
  });

  it("refuses an unknown TLS mode, an unknown key and a token with characters a URL path would mangle", () => {
    assert.equal(validate({ ...VALUES, tls: { mode: "openssl" } }), false);
    assert.equal(validate({ ...VALUES, replicas: 3 }), false);
    assert.equal(validate({ ...VALUES, apiPath: { token: "a/b" } }), false);
    assert.ok(validate({ ...VALUES, tls: { mode: "cert-manager" }, apiPath: { token: "0123abc" } }));
  });
});
