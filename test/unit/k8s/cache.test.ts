import assert from "node:assert/strict";
import { ObjectCache } from "../../../capabilities/k8s/cache";

interface Obj {
  metadata: { name: string; namespace?: string; uid: string; resourceVersion: string; managedFields?: unknown[] };
  spec?: { vm?: string };
}

const obj = (name: string, rv: number, vm?: string, uid = `uid-${name}`): Obj => ({
  metadata: { name, namespace: "ns", uid, resourceVersion: String(rv), managedFields: [{ manager: "x" }] },
  spec: { vm },
});

describe("ObjectCache", () => {
  it("keeps the newest copy, drops managedFields, and ignores stale events", () => {
    const c = new ObjectCache<Obj>();
    assert.equal(c.upsert(obj("a", 5)), true);
    assert.equal(c.upsert(obj("a", 4)), false, "older resourceVersion ignored");
    assert.equal(c.get("ns/a")?.metadata.resourceVersion, "5");
    assert.equal(c.get("ns/a")?.metadata.managedFields, undefined);
  });

  it("does not let a DELETED event of an older incarnation drop a re-created object", () => {
    const c = new ObjectCache<Obj>();
    c.upsert(obj("a", 9, undefined, "new"));
    assert.equal(c.remove(obj("a", 3, undefined, "old")), false);
    assert.ok(c.get("ns/a"));
  });

  it("maintains secondary indexes through upsert, remove and replace", () => {
    const c = new ObjectCache<Obj>().index("vm", o => o.spec?.vm);
    c.upsert(obj("a.ovs1", 1, "a"));
    c.upsert(obj("a.ovs2", 1, "a"));
    c.upsert(obj("b.ovs1", 1, "b"));
    assert.deepEqual(c.by("vm", "a").map(o => o.metadata.name).sort(), ["a.ovs1", "a.ovs2"]);
    c.upsert(obj("a.ovs2", 2, "b")); // moved
    assert.deepEqual(c.by("vm", "b").map(o => o.metadata.name).sort(), ["a.ovs2", "b.ovs1"]);
    c.remove(obj("a.ovs1", 3, "a"));
    assert.deepEqual(c.by("vm", "a"), []);
    const changed = c.replace([obj("c.ovs1", 1, "c")]);
    assert.deepEqual(changed.sort(), ["ns/a.ovs2", "ns/b.ovs1", "ns/c.ovs1"]);
    assert.deepEqual(c.by("vm", "b"), []);
    assert.equal(c.by("vm", "c").length, 1);
  });
});
