// The admission front's checks: cheap, before any deep parse or copy.
import assert from "node:assert/strict";
import { gate, jsonDepth, KUBEVIRT_MAX_NICS, MAX_DEPTH, peekUid, route } from "../../capabilities/webhook-server/gate";

const review = (request: Record<string, unknown>): string =>
  JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request });

describe("admission front gate", () => {
  it("checks the path token before anything else, in constant time", () => {
    assert.deepEqual(route("POST", "/validate/tok", "tok"), { kind: "admission", which: "validate" });
    assert.deepEqual(route("POST", "/mutate/tok?timeout=10s", "tok"), { kind: "admission", which: "mutate" });
    assert.equal(route("POST", "/validate/tak", "tok").kind, "unauthorized");
    assert.equal(route("POST", "/validate/", "").kind, "unauthorized");
    assert.equal(route("GET", "/validate/tok", "tok").kind, "unauthorized");
    assert.equal(route("GET", "/healthz", "tok").kind, "forward");
    assert.equal(route("POST", "/other", "tok").kind, "not-found");
  });

  it("measures depth without recursion, skipping strings", () => {
    assert.equal(jsonDepth('{"a":[{"b":"[[[[{{{{"}]}'), 3);
    assert.ok(jsonDepth("[".repeat(100000)) > MAX_DEPTH);
  });

  it("refuses a review without uid or JSON with a status, and a too-deep one with a denial", () => {
    assert.equal(gate("{nope").status, 400);
    assert.equal(gate(review({ kind: { kind: "Pod" } })).status, 400);
    const deep = review({ uid: "u-1", object: JSON.parse(`${"[".repeat(100)}${"]".repeat(100)}`) });
    assert.deepEqual(gate(deep).uid, "u-1");
    assert.match(String(gate(deep).deny), /nests deeper than/);
    assert.equal(peekUid(review({ uid: "abc-1" })), "abc-1");
  });

  it("refuses a VM with more NICs than KubeVirt allows, naming the field", () => {
    const nics = (n: number): unknown[] => Array.from({ length: n }, (_, i) => ({ name: `n${i}`, bridge: {} }));
    const vm = (n: number): string =>
      review({
        uid: "u",
        kind: { group: "kubevirt.io", version: "v1", kind: "VirtualMachine" },
        namespace: "t",
        name: "huge",
        object: { spec: { template: { spec: { domain: { devices: { interfaces: nics(n) } } } } } },
      });
    assert.match(
      String(gate(vm(KUBEVIRT_MAX_NICS + 1)).deny),
      /spec\.template\.spec\.domain\.devices\.interfaces has 257 entries; KubeVirt allows at most 256/,
    );
    assert.equal(gate(vm(KUBEVIRT_MAX_NICS)).deny, undefined);
    const t0 = performance.now();
    gate(vm(8000));
    assert.ok(performance.now() - t0 < 1000, "an 8,000-NIC VM is refused well within a second (a shared machine)");
  });
});
