// What the operator keeps of each watched object: a projection with only the fields the
// controllers and the admission rules read, so 10,000 VMs with their claims and allocations fit
// in a few tens of MiB. One home for "which fields do we read": a rule that starts reading a new
// field of a cached VM, claim or allocation adds it here (and the projection test shows it kept).
// Kinds with few objects (pools, NADs, namespaces, Services, migrations) keep everything but
// managedFields (k8s/cache.ts slim). apiVersion and kind are not kept (the cache is per kind;
// writes name their kind). Pure; each projection is idempotent.
import type { IPAllocation } from "../api/ipallocation-v1alpha1";
import type { IPClaim } from "../api/ipclaim-v1alpha1";
import type { VirtualMachine } from "../api/external/kubevirt";
import type { ObjectMeta } from "../k8s/client";

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/** The metadata fields any controller reads (never managedFields, never the last-applied copy). */
const META_KEYS = ["name", "namespace", "uid", "resourceVersion", "generation", "deletionTimestamp", "labels", "finalizers", "ownerReferences"] as const;

/** Copies the keys of `from` that are set; leaves out the rest (no undefined-valued properties). */
function pick<T extends object, K extends keyof T>(from: T | undefined, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  if (!from) return out;
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}

export function projectMeta(meta: ObjectMeta | undefined): ObjectMeta {
  const out: ObjectMeta = pick(meta, META_KEYS);
  const annotations = meta?.annotations;
  if (annotations) {
    const kept = Object.keys(annotations).filter(k => k !== LAST_APPLIED);
    if (kept.length) out.annotations = Object.fromEntries(kept.map(k => [k, annotations[k]]));
  }
  return out;
}

/**
 * A VM: its metadata (vmnet.io/* annotations included), run strategy, and of the template only
 * the NICs (interfaces with their bindings, MACs and ports, networks, autoattachPodInterface) and
 * the template's labels and annotations. Not its status, disks, volumes or resources.
 */
export function projectVm(vm: VirtualMachine): VirtualMachine {
  const spec = vm.spec;
  const template = spec?.template;
  const tspec = template?.spec;
  const devices = tspec?.domain?.devices as ({ interfaces?: unknown; autoattachPodInterface?: boolean } & Record<string, unknown>) | undefined;
  const out: VirtualMachine = { metadata: projectMeta(vm.metadata as ObjectMeta) } as VirtualMachine;
  if (!spec) return out;
  out.spec = pick(spec, ["running", "runStrategy"]);
  if (!template) return out;
  const tmeta = template.metadata as { labels?: unknown; annotations?: unknown } | undefined;
  out.spec.template = {};
  if (tmeta) out.spec.template.metadata = pick(tmeta, ["labels", "annotations"]);
  if (tspec) {
    out.spec.template.spec = pick(tspec, ["networks"]);
    if (devices) out.spec.template.spec.domain = { devices: pick(devices, ["interfaces", "autoattachPodInterface"]) as never };
  }
  return out;
}

/** A claim is small and all of it is read (spec and status); only the metadata is trimmed. */
export function projectClaim(claim: IPClaim): IPClaim {
  const out: IPClaim = { metadata: projectMeta(claim.metadata as ObjectMeta) } as IPClaim;
  if (claim.spec) out.spec = claim.spec;
  if (claim.status) out.status = claim.status;
  return out;
}

/** An allocation: its immutable spec (pool, address, claimRef) and trimmed metadata. */
export function projectAllocation(alloc: IPAllocation): IPAllocation {
  const out: IPAllocation = { metadata: projectMeta(alloc.metadata as ObjectMeta) } as IPAllocation;
  if (alloc.spec) out.spec = alloc.spec;
  return out;
}
