// The operator's informer against the real API server: a paged List fills the cache with
// projections, the watch keeps it (creates, status updates, deletes), a dropped connection is
// resumed without losing what happened meanwhile, and a relist agrees with the watch.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { HasMeta, ObjectCache, slim } from "../../capabilities/k8s/cache";
import { Informer } from "../../capabilities/k8s/informer";
import { Kinds } from "../../capabilities/k8s/kinds";
import { cluster } from "../setup/cluster";

const until = async (what: string, ok: () => boolean, ms = 10_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 20));
  }
};

describe("informer (List + watch into a projecting cache)", () => {
  const ns = `informer-${crypto.randomBytes(3).toString("hex")}`;
  const label = `informer-test-${crypto.randomBytes(3).toString("hex")}`;
  // ConfigMaps: a kind the operator running beside the tests leaves alone. The projection keeps
  // `data.keep` and drops the rest, so the test sees that only projections are held.
  type Cm = HasMeta & { metadata?: HasMeta["metadata"] & { managedFields?: unknown }; data?: Record<string, string> };
  const claim = (name: string): Cm => ({
    metadata: { name: `${name}.ovs1`, namespace: ns, labels: { [label]: "yes" } } as Cm["metadata"],
    data: { keep: name, drop: "x".repeat(1000) },
  });
  const project = (o: Cm): Cm => ({ ...slim(o), data: o.data?.keep === undefined ? undefined : { keep: o.data.keep } });
  const cache = new ObjectCache<Cm>(project);
  const events: string[] = [];
  let informer: Informer<HasMeta>;

  before(async () => {
    const { client } = cluster();
    await client.apply(Kinds.Namespace, { metadata: { name: ns } });
    for (let i = 0; i < 5; i++) await client.create(Kinds.ConfigMap, claim(`vm-${i}`));
    informer = new Informer<HasMeta>(
      client,
      Kinds.ConfigMap,
      {
        event: (phase, obj) => {
          events.push(`${phase} ${obj.metadata?.name}`);
          if (phase === "DELETED") cache.remove(obj as Cm);
          else cache.upsert(obj as Cm);
        },
        listed: (items, rv) => cache.replace(items as Cm[], rv),
      },
      { labelSelector: `${label}=yes`, pageSize: 2, project: o => project(o as Cm) },
    );
    await informer.start();
  });

  after(async () => {
    informer?.stop();
    await cluster().client.delete(Kinds.Namespace, ns);
  });

  it("fills the cache from a List of several pages, with projections only", () => {
    assert.equal(cache.size, 5);
    const held = cache.get(`${ns}/vm-3.ovs1`);
    assert.deepEqual(held?.data, { keep: "vm-3" }, "only the projection is held");
    assert.equal(held?.metadata?.managedFields, undefined, "managedFields are not kept");
  });

  it("keeps the cache by watch: a create, an update and a delete", async () => {
    const { client } = cluster();
    const created = await client.create<Cm>(Kinds.ConfigMap, claim("vm-5"));
    await until("the new object", () => cache.get(`${ns}/vm-5.ovs1`) !== undefined);
    await client.mergePatch(Kinds.ConfigMap, "vm-5.ovs1", ns, { data: { keep: "changed" } });
    await until("its update", () => cache.get(`${ns}/vm-5.ovs1`)?.data?.keep === "changed");
    await client.delete(Kinds.ConfigMap, "vm-5.ovs1", ns, { uid: created.metadata?.uid as string });
    await until("its deletion", () => cache.get(`${ns}/vm-5.ovs1`) === undefined);
    assert.ok(events.includes("DELETED vm-5.ovs1"));
  });

  it("resumes a dropped watch from where it was: nothing done meanwhile is lost", async () => {
    const { client } = cluster();
    informer.restartWatch();
    await client.create(Kinds.ConfigMap, claim("vm-6"));
    const gone = cache.get(`${ns}/vm-0.ovs1`)!;
    await client.delete(Kinds.ConfigMap, "vm-0.ovs1", ns, { uid: gone.metadata?.uid as string });
    await until(
      "the create and the delete",
      () => cache.get(`${ns}/vm-6.ovs1`) !== undefined && cache.get(`${ns}/vm-0.ovs1`) === undefined,
    );
  });

  it("relists to the same content the watch keeps", async () => {
    const before = [...cache.keys()].sort();
    await informer.relist();
    assert.deepEqual([...cache.keys()].sort(), before);
    const { client } = cluster();
    await client.create(Kinds.ConfigMap, claim("vm-7"));
    await until("an event after the relist", () => cache.get(`${ns}/vm-7.ovs1`) !== undefined);
  });
});
