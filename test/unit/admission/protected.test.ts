import assert from "node:assert/strict";
import { validateOperatorOwnedWrite } from "../../../capabilities/admission";
import { assertDenied } from "./fixtures";

const OPERATOR = "system:serviceaccount:vmnet-system:vmnet-operator";

describe("validateOperatorOwnedWrite", () => {
  it("allows the operator's identities, by username or group", () => {
    assert.deepEqual(validateOperatorOwnedWrite({ username: OPERATOR, groups: [] }, [OPERATOR]), { denials: [], warnings: [] });
    assert.deepEqual(validateOperatorOwnedWrite({ username: "x", groups: ["vmnet:operators"] }, ["group:vmnet:operators"]).denials, []);
  });

  it("refuses anyone else, naming the user and the object", () => {
    const r = validateOperatorOwnedWrite({ username: "alice", groups: ["system:authenticated"] }, [OPERATOR], {
      kind: "IPAllocation",
      operation: "CREATE",
      name: "p.10-100-0-23",
    });
    assertDenied(r, "metadata", '"alice"', "create IPAllocation p.10-100-0-23", "only vmnet-operator");
    const status = validateOperatorOwnedWrite({ username: "alice" }, [OPERATOR], { kind: "IPClaim", operation: "UPDATE", subresource: "status", namespace: "a", name: "web-1.ovs1" });
    assertDenied(status, "status", "update IPClaim a/web-1.ovs1 status");
    assertDenied(validateOperatorOwnedWrite(undefined, [OPERATOR]), "metadata", "(unknown user)");
    assertDenied(validateOperatorOwnedWrite({ username: "group:x", groups: [] }, ["group:x"]), "metadata");
  });

  it("lets users delete a released IPClaim (how a Retain pool's addresses are freed), not a live one", () => {
    assert.deepEqual(validateOperatorOwnedWrite({ username: "alice" }, [OPERATOR], { kind: "IPClaim", operation: "DELETE", released: true }).denials, []);
    assertDenied(validateOperatorOwnedWrite({ username: "alice" }, [OPERATOR], { kind: "IPClaim", operation: "DELETE" }), "metadata", "released");
  });
});
