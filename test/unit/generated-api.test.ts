import assert from "node:assert/strict";
import { staleFiles } from "../../hack/generate-api";

describe("generated API types and schemas", () => {
  it("match crds/ (run `npm run generate` after editing a CRD)", function () {
    this.timeout(60_000);
    assert.deepEqual(staleFiles(), []);
  });
});
