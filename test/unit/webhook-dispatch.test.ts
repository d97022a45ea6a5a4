import assert from "node:assert/strict";
import { Capability, a } from "pepr";
import { admissionCapability } from "../../capabilities/admission";
import type { AdmissionPort } from "../../capabilities/domain/admission-port";
import { Controllers } from "../../capabilities/controllers";
import {
  AdmissionRequest,
  CapabilityLike,
  DirectMutateRequest,
  directAdmission,
  UnsupportedBindingError,
} from "../../capabilities/webhook-server/dispatch";

const podRequest = (over: Partial<AdmissionRequest> = {}, metadata: Record<string, unknown> = {}): AdmissionRequest => ({
  uid: "u-1",
  kind: { group: "", version: "v1", kind: "Pod" },
  operation: "CREATE",
  namespace: "tenant",
  name: "virt-launcher-web",
  object: {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "virt-launcher-web", namespace: "tenant", labels: { "kubevirt.io": "virt-launcher" }, ...metadata },
  },
  ...over,
});

type Answer = {
  response: {
    uid: string;
    allowed: boolean;
    patchType?: string;
    patch?: string;
    status?: { code: number; message: string };
    warnings?: string[];
  };
};
const decodePatch = (a: Answer): unknown => JSON.parse(Buffer.from(a.response.patch!, "base64").toString());

/** A capability built with Pepr's own When() chain, so the bindings are exactly what Pepr builds. */
function capability(setup: (c: Capability) => void): Capability {
  const c = new Capability({ name: "test-cap", description: "t" });
  setup(c);
  return c;
}

// Building the capability reads nothing through its port; a call would be a bug here.
const unusedPort: AdmissionPort = {
  view: () => Promise.reject(new Error("not used")),
  refreshPools: () => Promise.reject(new Error("not used")),
  bindNow: () => Promise.reject(new Error("not used")),
};

describe("direct admission path (webhook-server/dispatch.ts)", () => {
  it("accepts the operator's own capabilities (no filter it does not implement)", () => {
    assert.doesNotThrow(() =>
      directAdmission([admissionCapability(unusedPort), Controllers], { uuid: "vmnet-operator", ignoredNamespaces: [] }),
    );
  });

  it("refuses a binding with a filter Pepr supports and it does not, so the server keeps Pepr's path", () => {
    const cap = capability(c =>
      c
        .When(a.Pod)
        .IsCreated()
        .InNamespace("x")
        .Validate(r => r.Approve()),
    );
    assert.throws(() => directAdmission([cap], { uuid: "m", ignoredNamespaces: [] }), UnsupportedBindingError);
  });

  it("runs a mutation only on objects carrying the bound label, as a JSON patch with Pepr's status annotation", async () => {
    const cap = capability(c =>
      c
        .When(a.Pod)
        .IsCreatedOrUpdated()
        .WithLabel("kubevirt.io", "virt-launcher")
        .Mutate(r => void r.SetAnnotation("k8s.v1.cni.cncf.io/networks", "[]")),
    );
    const direct = directAdmission([cap], { uuid: "m", ignoredNamespaces: [] });
    const hit = JSON.parse(await direct("mutate", podRequest())) as Answer;
    assert.equal(hit.response.allowed, true);
    assert.equal(hit.response.patchType, "JSONPatch");
    assert.deepEqual(decodePatch(hit), [
      { op: "add", path: "/metadata/annotations", value: { "k8s.v1.cni.cncf.io/networks": "[]", "m.pepr.dev/test-cap": "succeeded" } },
    ]);
    const miss = JSON.parse(await direct("mutate", podRequest({}, { labels: { "kubevirt.io": "other" } }))) as Answer;
    assert.deepEqual(miss.response, { uid: "u-1", allowed: true });
    const deleted = JSON.parse(await direct("mutate", podRequest({ operation: "DELETE", oldObject: podRequest().object }))) as Answer;
    assert.equal(deleted.response.patch, undefined, "the binding is for CREATE and UPDATE only");
  });

  it("patches existing annotations key by key (replace or add, JSON-pointer escaped) and leaves equal ones alone", () => {
    const req = new DirectMutateRequest<{ metadata: { annotations: Record<string, string> } }>(
      podRequest({}, { annotations: { "k8s.v1.cni.cncf.io/networks": "old", "m.pepr.dev/test-cap": "succeeded" } }),
    );
    req.SetAnnotation("k8s.v1.cni.cncf.io/networks", "new").SetAnnotation("a~b", "x").SetAnnotation("m.pepr.dev/test-cap", "succeeded");
    assert.deepEqual(req.patch(), [
      { op: "replace", path: "/metadata/annotations/k8s.v1.cni.cncf.io~1networks", value: "new" },
      { op: "add", path: "/metadata/annotations/a~0b", value: "x" },
    ]);
    assert.equal(req.Raw.metadata.annotations["k8s.v1.cni.cncf.io/networks"], "old", "the request's object is not changed");
  });

  it("refuses the object when a mutation throws (the module's onError is reject)", async () => {
    const cap = capability(c =>
      c
        .When(a.Pod)
        .IsCreated()
        .Mutate(() => {
          throw new Error("no allocator");
        }),
    );
    const answer = JSON.parse(await directAdmission([cap], { uuid: "m", ignoredNamespaces: [] })("mutate", podRequest())) as Answer;
    assert.equal(answer.response.allowed, false);
    assert.match(answer.response.status!.message, /no allocator/);
  });

  it("combines validations as Pepr does: all must allow; denials joined, code 422; warnings kept", async () => {
    const cap = capability(c => {
      c.When(a.Pod)
        .IsCreatedOrUpdated()
        .Validate(r => r.Approve(["w1"]));
      c.When(a.Pod)
        .IsCreated()
        .Validate(r => r.Deny("first", 400));
      c.When(a.Pod)
        .IsCreated()
        .Validate(r => r.Deny());
      c.When(a.Namespace)
        .IsCreated()
        .Validate(r => r.Deny("not for pods"));
    });
    const direct = directAdmission([cap], { uuid: "m", ignoredNamespaces: [] });
    const answer = JSON.parse(await direct("validate", podRequest())) as Answer;
    assert.equal(answer.response.allowed, false);
    assert.deepEqual(answer.response.status, {
      code: 422,
      message: "first; Validation failed for pod/virt-launcher-web in tenant namespace.",
    });
    assert.deepEqual(answer.response.warnings, ["w1"]);
    const update = JSON.parse(await direct("validate", podRequest({ operation: "UPDATE" }))) as Answer;
    assert.deepEqual(update.response, { uid: "u-1", allowed: true, status: { code: 200, message: "" }, warnings: ["w1"] });
    const none = JSON.parse(
      await direct("validate", { ...podRequest(), kind: { group: "apps", version: "v1", kind: "Deployment" } }),
    ) as Answer;
    assert.deepEqual(none.response, { uid: "u-1", allowed: true, status: { code: 200, message: "no in-scope validations -- allowed!" } });
  });

  it("skips objects in ignored namespaces, from the module config and PEPR_ADDITIONAL_IGNORED_NAMESPACES", async () => {
    const cap = capability(c =>
      c
        .When(a.Pod)
        .IsCreated()
        .Validate(r => r.Deny("no")),
    );
    const direct = directAdmission(
      [cap as CapabilityLike as Capability],
      { uuid: "m", ignoredNamespaces: ["kube-system"] },
      { PEPR_ADDITIONAL_IGNORED_NAMESPACES: "tenant, other" },
    );
    const answer = JSON.parse(await direct("validate", podRequest())) as Answer;
    assert.equal(answer.response.allowed, true);
  });
});
