// The one table of watched kinds: for each kind, where it lives in the API, which cache keeps it,
// and which work its events cause (typed keys, reconcile.ts). The operator's event router, its
// full resync, the informers (one per entry: k8s/informer.ts), the staleness metric and the watch
// restarter all read this table: adding a watched kind is one entry here (and its cache in
// ClusterView). Where the events come from is not the table's business: any source calls
// Operator.onEvent(kind, phase, obj).
import { IPAllocation } from "../api/ipallocation-v1alpha1";
import { IPClaim } from "../api/ipclaim-v1alpha1";
import { IPPool } from "../api/ippool-v1alpha1";
import { VirtualMachine, VirtualMachineInstanceMigration } from "../api/external/kubevirt";
import { NetworkAttachmentDefinition } from "../api/external/multus";
import { HasMeta, ObjectCache } from "../k8s/cache";
import { KindRef, Kinds } from "../k8s/kinds";
import type { ClusterView } from "./cluster-view";
import { claimKey, migrationKey, poolKey, vmKey, WorkKey } from "./reconcile";

export type Phase = "ADDED" | "MODIFIED" | "DELETED";
export type WatchedKind =
  | "VirtualMachine"
  | "VirtualMachineInstanceMigration"
  | "IPPool"
  | "IPClaim"
  | "IPAllocation"
  | "NetworkAttachmentDefinition"
  | "Namespace"
  | "Service";

/** Only the Services we made carry this label; the others are none of our business. */
export const MANAGED_SELECTOR = { key: "app.kubernetes.io/managed-by", value: "vmnet-operator" };

/** What a route may look at besides the event. */
export interface RouteContext {
  view: ClusterView;
  /** Whether the pool's generation differs from the one last seen (and remembers it): our own status writes keep it. */
  poolSpecChanged(name: string, generation: number): boolean;
}

type Caches = ClusterView["caches"];

export interface Watched {
  kind: WatchedKind;
  ref: KindRef;
  /** Watch only objects labelled MANAGED_SELECTOR. */
  managedOnly?: boolean;
  cache(caches: Caches): ObjectCache<HasMeta>;
  /** The work an event causes, once the cache holds the change. */
  route(phase: Phase, obj: HasMeta, ctx: RouteContext): WorkKey[];
  /** Route even when the cache did not change (the binder may have cached the object first). */
  routeUnchanged?: boolean;
  /** Done with every event before routing (allocations feed their pool's allocator). */
  note?(view: ClusterView, obj: HasMeta, deleted: boolean): void;
  /** The key of an object's own reconcile: the full resync enqueues it for every cached object. */
  own?(obj: HasMeta): WorkKey;
}

/** Types one entry by its kind's class; the table holds them erased to HasMeta. */
interface Entry<T extends HasMeta> extends Omit<Watched, "cache" | "route" | "note" | "own"> {
  cache(caches: Caches): ObjectCache<T>;
  route(phase: Phase, obj: T, ctx: RouteContext): WorkKey[];
  note?(view: ClusterView, obj: T, deleted: boolean): void;
  own?(obj: T): WorkKey;
}

const entry = <T extends HasMeta>(e: Entry<T>): Watched => e as unknown as Watched;

const nsOf = (obj: HasMeta): string => obj.metadata?.namespace as string;
const nameOf = (obj: HasMeta): string => obj.metadata?.name as string;
const vmOf = (obj: HasMeta): WorkKey => vmKey(nsOf(obj), nameOf(obj));
const everyVm = (view: ClusterView): WorkKey[] => [...view.caches.vms.values()].map(vmOf);

/** VMs whose claims wait for an address: a freed address may now serve them. */
function waitingVms(view: ClusterView): WorkKey[] {
  return view.unboundClaims().map(c => vmKey(nsOf(c), String(c.spec?.vm)));
}

/** The pool's own status, and every VM when its spec changed (a deleted pool counts as a change). */
function poolRoute(phase: Phase, pool: IPPool, ctx: RouteContext): WorkKey[] {
  const name = nameOf(pool);
  const generation = phase === "DELETED" ? -1 : Number(pool.metadata?.generation ?? 0);
  return [poolKey(name), ...(ctx.poolSpecChanged(name, generation) ? everyVm(ctx.view) : [])];
}

export const WATCHED: readonly Watched[] = [
  entry({
    kind: "Service",
    ref: Kinds.Service,
    managedOnly: true,
    cache: c => c.services,
    // Someone changed or deleted a Service we keep: put it back (it is named after its VM).
    route: (_, svc) => (nsOf(svc) ? [vmOf(svc)] : []),
  }),
  entry({
    kind: "Namespace",
    ref: Kinds.Namespace,
    cache: c => c.namespaces,
    route: (_, ns, { view }) => [...view.caches.vms.values()].filter(vm => nsOf(vm) === nameOf(ns)).map(vmOf),
  }),
  entry<NetworkAttachmentDefinition>({
    kind: "NetworkAttachmentDefinition",
    ref: Kinds.NetworkAttachmentDefinition,
    cache: c => c.nads,
    route: (_, nad, { view }) => view.poolsForNetwork(`${nsOf(nad)}/${nameOf(nad)}`).map(p => poolKey(nameOf(p))),
  }),
  entry<IPPool>({
    kind: "IPPool",
    ref: Kinds.IPPool,
    cache: c => c.pools,
    route: poolRoute,
    own: p => poolKey(nameOf(p)),
  }),
  entry<IPAllocation>({
    kind: "IPAllocation",
    ref: Kinds.IPAllocation,
    cache: c => c.allocations,
    routeUnchanged: true,
    note: (view, alloc, deleted) => view.noteAllocation(alloc, deleted),
    route: (phase, alloc, { view }) => [poolKey(String(alloc.spec?.pool)), ...(phase === "DELETED" ? waitingVms(view) : [])],
  }),
  entry<IPClaim>({
    kind: "IPClaim",
    ref: Kinds.IPClaim,
    cache: c => c.claims,
    route: (phase, claim) => [
      ...(phase === "DELETED" ? [claimKey(nsOf(claim), nameOf(claim))] : []),
      vmKey(nsOf(claim), String(claim.spec?.vm)),
    ],
  }),
  entry<VirtualMachine>({
    kind: "VirtualMachine",
    ref: Kinds.VirtualMachine,
    cache: c => c.vms,
    route: (_, vm) => [vmOf(vm)],
    own: vmOf,
  }),
  entry<VirtualMachineInstanceMigration>({
    kind: "VirtualMachineInstanceMigration",
    ref: Kinds.VirtualMachineInstanceMigration,
    cache: c => c.migrations,
    route: (_, m) => [migrationKey(nsOf(m), nameOf(m))],
    own: m => migrationKey(nsOf(m), nameOf(m)),
  }),
];

export const watched = (kind: WatchedKind): Watched => WATCHED.find(w => w.kind === kind) as Watched;
