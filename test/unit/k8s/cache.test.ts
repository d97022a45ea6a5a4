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
    assert.deepEqual(
      c
        .by("vm", "a")
        .map(o => o.metadata.name)
        .sort(),
      ["a.ovs1", "a.ovs2"],
    );
    c.upsert(obj("a.ovs2", 2, "b")); // moved
    assert.deepEqual(
      c
        .by("vm", "b")
        .map(o => o.metadata.name)
        .sort(),
      ["a.ovs2", "b.ovs1"],
    );
    c.remove(obj("a.ovs1", 3, "a"));
    assert.deepEqual(c.by("vm", "a"), []);
    const changed = c.replace([obj("c.ovs1", 1, "c")]);
    assert.deepEqual(changed.sort(), ["ns/a.ovs2", "ns/b.ovs1", "ns/c.ovs1"]);
    assert.deepEqual(c.by("vm", "b"), []);
    assert.equal(c.by("vm", "c").length, 1);
  });

  it("indexes one, several and again one object per value (upserting the same key twice counts once)", () => {
    const c = new ObjectCache<Obj>().index("vm", o => o.spec?.vm);
    c.upsert(obj("x.1", 1, "x"));
    c.upsert(obj("x.1", 2, "x"));
    assert.deepEqual(
      c.by("vm", "x").map(o => o.metadata.name),
      ["x.1"],
    );
    c.upsert(obj("x.2", 1, "x"));
    c.upsert(obj("x.3", 1, "x"));
    c.remove(obj("x.2", 2, "x"));
    assert.deepEqual(
      c
        .by("vm", "x")
        .map(o => o.metadata.name)
        .sort(),
      ["x.1", "x.3"],
    );
    c.remove(obj("x.1", 3, "x"));
    assert.deepEqual(
      c.by("vm", "x").map(o => o.metadata.name),
      ["x.3"],
    );
    c.remove(obj("x.3", 3, "x"));
    assert.deepEqual(c.by("vm", "x"), []);
    c.upsert(obj("x.4", 1, "x"));
    assert.deepEqual(
      c.by("vm", "x").map(o => o.metadata.name),
      ["x.4"],
    );
  });

  it("counts an index value's objects as by() lists them, through upsert, a value moved, remove and replace", () => {
    const c = new ObjectCache<Obj>().index("vm", o => o.spec?.vm);
    const agree = (value: string, n: number): void => {
      assert.equal(c.count("vm", value), n, `count of ${value}`);
      assert.equal(c.by("vm", value).length, n, `by of ${value}`);
    };
    agree("x", 0);
    c.upsert(obj("a", 1, "x"));
    agree("x", 1);
    c.upsert(obj("b", 1, "x"));
    c.upsert(obj("b", 2, "x")); // the same key again counts once
    agree("x", 2);
    c.upsert(obj("b", 3, "y")); // moved to another value
    agree("x", 1);
    agree("y", 1);
    c.remove(obj("a", 4, "x"));
    agree("x", 0);
    c.replace([obj("c", 5, "y"), obj("d", 5, "y"), obj("e", 5, "z")]);
    agree("y", 2);
    agree("z", 1);
    assert.equal(c.count("nope", "y"), 0, "no such index");
  });

  it("keeps across a List what is newer than the List: an object created after it, a newer copy", () => {
    const c = new ObjectCache<Obj>().index("vm", o => o.spec?.vm);
    c.upsert(obj("old", 5, "a"));
    c.upsert(obj("created-after-list", 12, "a")); // our own create, after the List's snapshot at 10
    c.upsert(obj("updated", 11, "b"));
    const changed = c.replace([obj("updated", 9, "b"), obj("listed", 8, "c")], "10");
    assert.deepEqual([...c.keys()].sort(), ["ns/created-after-list", "ns/listed", "ns/updated"]);
    assert.equal(c.get("ns/updated")?.metadata.resourceVersion, "11", "the newer copy stays");
    assert.deepEqual(changed.sort(), ["ns/listed", "ns/old"]);
    assert.deepEqual(
      c.by("vm", "a").map(o => o.metadata.name),
      ["created-after-list"],
    );
    // A re-created object (other uid) in the List wins over the held one, however new.
    c.upsert(obj("x", 20, undefined, "first"));
    c.replace([obj("x", 15, undefined, "second")], "16");
    assert.equal(c.get("ns/x")?.metadata.uid, "second");
  });
});
