// Our VM validator against KubeVirt's own verdicts (kubevirt-cases.ts says where each case comes
// from): every case must agree, and the agreement is printed as a figure.
import assert from "node:assert/strict";
import { validateNAD, validateVM } from "../../../capabilities/admission/rules";
import type { ValidationResult } from "../../../capabilities/admission/rules";
import { KUBEVIRT_RELEASE } from "../../../capabilities/admission/kubevirt-rules";
import { DOC_NADS, KUBEVIRT_TEST_CASES, KubeVirtCase, USER_GUIDE_VMS } from "./kubevirt-cases";
import { assertNoDenials, nad, snapshot } from "./fixtures";

const TEMPLATE = "spec.template.spec";
const empty = snapshot({ namespaces: { "tenant-a": {} } });

/** The case as a VM in namespace tenant-a; absent lists are left out, as in KubeVirt's tests. */
export function caseVM(c: KubeVirtCase): Record<string, unknown> {
  const devices: Record<string, unknown> = { ...c.devices };
  if (c.interfaces) devices.interfaces = c.interfaces;
  const spec: Record<string, unknown> = { domain: { devices }, ...c.spec };
  if (c.networks) spec.networks = c.networks;
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachine",
    metadata: { namespace: "tenant-a", name: "vm" },
    spec: { runStrategy: "Always", template: { spec } },
  };
}

/** Our verdict on a case: create, or an update of the same VM for `update` cases. */
export function ourVerdict(c: KubeVirtCase, validate: typeof validateVM = validateVM): ValidationResult {
  const v = caseVM(c);
  return c.update ? validate(v, empty, structuredClone(v)) : validate(v, empty);
}

/** Whether our verdict agrees: same accept/deny, and for a denial one at KubeVirt's field. */
export function agrees(c: KubeVirtCase, r: ValidationResult): boolean {
  if (c.kubevirt === "accept") return r.denials.length === 0;
  const at = `${TEMPLATE}.${c.at ?? ""}`;
  return r.denials.some(d => d.field === at || d.field.startsWith(`${at}.`) || d.field.startsWith(`${at}[`));
}

function describeCases(title: string, cases: KubeVirtCase[]): void {
  describe(title, () => {
    let agreed = 0;
    after(() => console.log(`      ${title}: ${agreed} of ${cases.length} agree with KubeVirt ${KUBEVIRT_RELEASE}`));
    for (const c of cases) {
      it(`${c.kubevirt === "accept" ? "accepts" : "refuses"}: ${c.from}${c.defaults ? ` [default gates: ${c.defaults}]` : ""}`, () => {
        const r = ourVerdict(c);
        assert.ok(
          agrees(c, r),
          `KubeVirt ${c.kubevirt === "accept" ? "accepts" : `refuses at ${c.at}`}; we said ${JSON.stringify(r.denials, null, 1)}`,
        );
        agreed++;
        for (const d of r.denials) assert.ok(d.field.length > 0 && d.message.includes(";"), `a denial names a field and a fix: ${d.message}`);
      });
    }
  });
}

describe(`agreement with KubeVirt ${KUBEVIRT_RELEASE} network admission (default feature gates)`, () => {
  describeCases("KubeVirt's admitter test cases", KUBEVIRT_TEST_CASES);
  describeCases("KubeVirt user guide network manifests", USER_GUIDE_VMS);

  describe("NAD configs from the KubeVirt user guide and ovs-cni's docs", () => {
    for (const c of DOC_NADS) {
      it(`accepts ${c.from}`, () => assertNoDenials(validateNAD(nad("tenant-a", "doc-net", JSON.stringify(c.config)), empty)));
    }
  });
});
