import assert from "node:assert/strict";
import { eventKey, eventName, eventTarget, renderEvent } from "../../../capabilities/k8s/events";

const vm = eventTarget("kubevirt.io/v1", "VirtualMachine", { metadata: { name: "web-1", namespace: "t", uid: "u-1" } });

describe("Event aggregation keys", () => {
  it("names one Event per object, type, reason and message, the same in every process", () => {
    const a = eventName(vm, eventKey(vm, "Warning", "Exhausted", "no address"));
    assert.match(a, /^web-1\.[0-9a-f]{16}$/);
    assert.equal(eventName(vm, eventKey(vm, "Warning", "Exhausted", "no address")), a, "deterministic");
    assert.notEqual(eventName(vm, eventKey(vm, "Warning", "Exhausted", "other")), a, "another message is another Event");
    assert.notEqual(eventName(vm, eventKey(vm, "Normal", "Exhausted", "no address")), a);
    const recreated = eventTarget("kubevirt.io/v1", "VirtualMachine", { metadata: { name: "web-1", namespace: "t", uid: "u-2" } });
    assert.notEqual(
      eventName(recreated, eventKey(recreated, "Warning", "Exhausted", "no address")),
      a,
      "a re-created VM (new uid) starts its own count",
    );
  });

  it("keeps names within 253 characters and carries the involved object's uid", () => {
    const long = eventTarget("vmnet.io/v1alpha1", "IPClaim", { metadata: { name: "x".repeat(253), namespace: "t", uid: "u" } });
    const ev = renderEvent(long, "Warning", "R", "m".repeat(5000), "2026-01-01T00:00:00Z");
    assert.ok(ev.metadata.name.length <= 253);
    assert.equal(ev.involvedObject.uid, "u");
    assert.equal(ev.count, 1);
    assert.equal(ev.message.length, 1024);
  });
});
