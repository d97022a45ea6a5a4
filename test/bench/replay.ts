// The API server's ceiling: the operator's own writes replayed by a plain client, same verbs,
// kinds and counts, same concurrency, same API server. "The same writes" means the same bodies:
// the operator's claims carry labels and an ownerReference, its allocations a claimRef with the
// claim's uid, its status patches the whole status with a resourceVersion precondition, its
// Events client-go's aggregation fields. A replay of smaller stand-ins cost kube-apiserver less
// CPU (its profiles of 2026-12-02 evening: the status patch 21% less, the creates 9%), so it made
// the ceiling optimistic.
// The bodies are read back from the API server after the scale run and re-homed: same names in
// another namespace, the same addresses in another /16, references pointing at the replay's own
// objects (the garbage collector deletes a dependent whose owner uid does not exist).
import { KubeClient, KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";

export const REPLAY_NS = "bench-ceiling";
/** The replay's pool CIDR: the scale run's 10.220.0.0/16 moved to 10.230.0.0/16 (names and addresses follow). */
export const REPLAY_CIDR = "10.230.0.0/16";

/** What the operator wrote in the scale run, as stored, re-homed into the replay's namespace. */
export interface Templates {
  claims: KubeObject[];
  allocations: KubeObject[];
  events: KubeObject[];
  poolStatus: unknown;
}

type Limit = <T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<unknown>) => Promise<void>;

/** Reads the scale run's objects (namespace `from`, pool `pool-<from>`) and re-homes them. */
export async function readTemplates(client: KubeClient, from: string): Promise<Templates> {
  const move = rehome(from);
  const byName = (a: KubeObject, b: KubeObject): number => String(a.metadata?.name).localeCompare(String(b.metadata?.name));
  const claims = (await client.list<KubeObject>(Kinds.IPClaim, { namespace: from })).items.sort(byName);
  const allocations = (await client.list<KubeObject & { spec?: { pool?: string } }>(Kinds.IPAllocation)).items
    .filter(a => a.spec?.pool === `pool-${from}`)
    .sort(byName);
  const events = (await client.list<KubeObject & { reason?: string; type?: string }>(Kinds.Event, { namespace: from })).items
    .filter(e => e.reason === "Bound" && e.type === "Normal")
    .sort(byName);
  const pool = await client.getOrUndefined<KubeObject>(Kinds.IPPool, `pool-${from}`);
  return { claims: claims.map(move), allocations: allocations.map(move), events: events.map(move), poolStatus: move(pool ?? {}).status };
}

/** The object as a client would send it, in the replay's namespace and /16. */
function rehome(from: string): (o: KubeObject) => KubeObject {
  const [a, b] = ["10.220.", "10.230."];
  return o => {
    const text = JSON.stringify(o).split(from).join(REPLAY_NS).split(a).join(b).split(a.replace(/\./g, "-")).join(b.replace(/\./g, "-"));
    const copy = JSON.parse(text) as KubeObject;
    if (copy.metadata) {
      for (const k of ["uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"] as const) delete copy.metadata[k];
    }
    return copy;
  };
}

/** The replay's VMs, named as the scale run's: their uids are what the claims' owners and the Events point at. */
export async function replayVms(
  client: KubeClient,
  templates: Templates,
  vmManifest: (ns: string, name: string) => KubeObject,
  limit: Limit,
): Promise<Map<string, string>> {
  const uids = new Map<string, string>();
  const names = templates.claims.map(c => String((c.spec as { vm?: string } | undefined)?.vm));
  await limit(names, 32, async name => {
    const vm = await client.create<KubeObject>(Kinds.VirtualMachine, vmManifest(REPLAY_NS, name));
    uids.set(name, String(vm.metadata?.uid));
  });
  return uids;
}

/** Replays `writes` (verb and kind, as the operator counted them) with the operator's bodies; returns seconds. */
export async function replayWrites(
  client: KubeClient,
  writes: Record<string, number>,
  t: Templates,
  vmUids: Map<string, string>,
  concurrency: number,
  limit: Limit,
): Promise<number> {
  const count = (key: string): number => writes[key] ?? 0;
  const written = new Map<string, { uid: string; resourceVersion: string }>();
  const t0 = Date.now();
  // Claims first: the allocations name their uids and the status patches their resourceVersions.
  await limit(claimWrites(client, t, vmUids, count("create IPClaim"), written), concurrency, op => op());
  const ops = [
    ...claimApplies(client, t, count("apply IPClaim")),
    ...allocationWrites(client, t, count("create IPAllocation"), written),
    ...statusWrites(client, t, count("patch-status IPClaim"), written),
    ...eventWrites(client, t, count("create Event"), vmUids),
    ...poolWrites(client, t, count("patch-status IPPool")),
  ];
  const unknown = Object.keys(writes).filter(k => !KNOWN_WRITES.includes(k) && writes[k] > 0);
  if (unknown.length) throw new Error(`writes the replay does not know: ${unknown.join(", ")}`);
  await limit(ops, concurrency, op => op());
  return (Date.now() - t0) / 1000;
}

type Op = () => Promise<unknown>;

/** The writes the operator makes while binding (vmnet_api_writes_total's verb and kind). */
const KNOWN_WRITES = [
  "create IPClaim",
  "apply IPClaim",
  "create IPAllocation",
  "patch-status IPClaim",
  "create Event",
  "patch-status IPPool",
];

function nth<T>(items: T[], i: number, what: string): T {
  if (!items.length) throw new Error(`the scale run left no ${what} to replay`);
  return items[i % items.length];
}

function claimWrites(
  client: KubeClient,
  t: Templates,
  vmUids: Map<string, string>,
  n: number,
  written: Map<string, { uid: string; resourceVersion: string }>,
): Op[] {
  return Array.from({ length: n }, (_, i) => async () => {
    const claim = claimBody(t, i, vmUids);
    // Creates beyond one per claim were attempts that met AlreadyExists: replayed as applies.
    const made = await (i < t.claims.length
      ? client.create<KubeObject>(Kinds.IPClaim, claim)
      : client.apply<KubeObject>(Kinds.IPClaim, claim));
    written.set(String(made.metadata?.name), { uid: String(made.metadata?.uid), resourceVersion: String(made.metadata?.resourceVersion) });
  });
}

/** Re-applies of a claim whose spec changed (none in a plain scale run). */
function claimApplies(client: KubeClient, t: Templates, n: number): Op[] {
  return Array.from({ length: n }, (_, i) => () => client.apply(Kinds.IPClaim, claimBody(t, i, new Map())));
}

/** The i-th claim as created: no status, owned by the replay's VM of its name. */
function claimBody(t: Templates, i: number, vmUids: Map<string, string>): KubeObject {
  const claim = structuredClone(nth(t.claims, i, "IPClaims"));
  delete claim.status;
  for (const ref of claim.metadata?.ownerReferences ?? []) ref.uid = vmUids.get(ref.name) ?? ref.uid;
  return claim;
}

function allocationWrites(client: KubeClient, t: Templates, n: number, written: Map<string, { uid: string }>): Op[] {
  return Array.from({ length: n }, (_, i) => () => {
    const alloc = structuredClone(nth(t.allocations, i, "IPAllocations")) as KubeObject & {
      spec: { claimRef: { name: string; uid?: string } };
    };
    alloc.spec.claimRef.uid = written.get(alloc.spec.claimRef.name)?.uid ?? alloc.spec.claimRef.uid;
    if (i >= t.allocations.length) alloc.metadata!.name = `${alloc.metadata!.name}-${i}`;
    return client.create(Kinds.IPAllocation, alloc);
  });
}

function statusWrites(client: KubeClient, t: Templates, n: number, written: Map<string, { resourceVersion: string }>): Op[] {
  return Array.from({ length: n }, (_, i) => () => {
    const claim = nth(t.claims, i, "IPClaims");
    const name = String(claim.metadata?.name);
    // The operator's patch: the whole status, under the resourceVersion it last saw (a repeat has none).
    const metadata = i < t.claims.length ? { resourceVersion: written.get(name)?.resourceVersion } : {};
    return client.mergePatch(Kinds.IPClaim, name, REPLAY_NS, { metadata, status: claim.status }, "status");
  });
}

function eventWrites(client: KubeClient, t: Templates, n: number, vmUids: Map<string, string>): Op[] {
  return Array.from({ length: n }, (_, i) => () => {
    const event = structuredClone(nth(t.events, i, "Bound Events")) as KubeObject & { involvedObject: { name: string; uid: string } };
    event.involvedObject.uid = vmUids.get(event.involvedObject.name) ?? event.involvedObject.uid;
    if (i >= t.events.length) event.metadata!.name = `${event.metadata!.name}-${i}`;
    return client.create(Kinds.Event, event);
  });
}

function poolWrites(client: KubeClient, t: Templates, n: number): Op[] {
  return Array.from(
    { length: n },
    () => () => client.mergePatch(Kinds.IPPool, `pool-${REPLAY_NS}`, undefined, { status: t.poolStatus }, "status"),
  );
}
