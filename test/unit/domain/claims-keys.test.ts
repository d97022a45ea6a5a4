import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { boundCondition, claimName, claimNameParts, hasBoundCondition, isClaimBound, ownerOf } from "../../../capabilities/domain/claims";
import { qualifyNetwork } from "../../../capabilities/domain/names";
import { parseAddressesAnnotation } from "../../../capabilities/domain/vm-addresses";
import { requestedAddresses } from "../../../capabilities/controllers/render";
import type { VirtualMachine } from "../../../capabilities/api/external/kubevirt";

const bound = (
  status: string,
  addresses: string[] = ["10.0.0.5/24"],
): { status: { addresses: string[]; conditions: { type: string; status: string }[] } } => ({
  status: {
    addresses,
    conditions: [
      { type: "Ready", status: "True" },
      { type: "Bound", status },
    ],
  },
});

describe("domain/claims", () => {
  it("names a claim <vm>.<interface> and splits it on the last dot (VM names may hold dots)", () => {
    assert.equal(claimName("web.1", "ovs1"), "web.1.ovs1");
    assert.deepEqual(claimNameParts(claimName("web.1", "ovs1")), { vm: "web.1", iface: "ovs1" });
    assert.equal(ownerOf("tenant-a", "web.1.ovs1"), "tenant-a/web.1.ovs1");
  });

  it("Bound means a True Bound condition; a launcher pod needs addresses too", () => {
    assert.equal(boundCondition(bound("False"))?.status, "False");
    assert.equal(boundCondition({ status: { conditions: [] } }), undefined);
    assert.equal(hasBoundCondition(bound("True", [])), true);
    assert.equal(isClaimBound(bound("True", [])), false);
    assert.equal(isClaimBound(bound("True")), true);
    assert.equal(isClaimBound(bound("False")), false);
    assert.equal(isClaimBound(undefined), false);
    assert.equal(isClaimBound({ status: { conditions: [null as never] } }), false);
  });
});

describe("domain: one reading per rule", () => {
  it("qualifies a network name against the namespace of the object that names it", () => {
    assert.equal(qualifyNetwork("vlan100", "tenant-a"), "tenant-a/vlan100");
    assert.equal(qualifyNetwork("infra/vlan100", "tenant-a"), "infra/vlan100");
  });

  it("the controller reads vmnet.io/addresses with the webhook's parser: what the webhook refuses requests nothing", () => {
    const vm = (value: string): VirtualMachine =>
      ({ metadata: { name: "web", namespace: "t", annotations: { "vmnet.io/addresses": value } } }) as VirtualMachine;
    for (const value of ['{"ovs1": ["10.0.0.1", "10.0.0.2", "10.0.0.3"]}', '{"": "10.0.0.1"}', '{"ovs1": 5}', "[1]", "{"]) {
      assert.equal(parseAddressesAnnotation(value).ok, false, value);
      const r = requestedAddresses(vm(value));
      assert.equal(r.byInterface.size, 0, value);
      assert.match(String(r.error), /vmnet\.io\/addresses/, value);
    }
    const ok = '{"ovs1": ["10.0.0.5", "fd00::5"], "ovs2": "10.1.0.5"}';
    const parsed = parseAddressesAnnotation(ok);
    assert.ok(parsed.ok);
    assert.deepEqual([...requestedAddresses(vm(ok)).byInterface], [...parsed.requests]);
  });

  it("spells every vmnet.io/* key once, in domain/keys.ts", () => {
    const root = path.join(__dirname, "..", "..", "..", "capabilities");
    const files = (dir: string): string[] =>
      fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap(e =>
          e.isDirectory()
            ? e.name === "api"
              ? []
              : files(path.join(dir, e.name))
            : e.name.endsWith(".ts")
              ? [path.join(dir, e.name)]
              : [],
        );
    const spelled = files(root)
      .filter(f => !f.endsWith(path.join("domain", "keys.ts")))
      .flatMap(f =>
        [...fs.readFileSync(f, "utf8").matchAll(/["'`]vmnet\.io\/[a-z-]+["'`]/g)].map(m => `${path.relative(root, f)}: ${m[0]}`),
      );
    assert.deepEqual(spelled, []);
  });
});
