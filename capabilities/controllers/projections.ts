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
const META_KEYS = [
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "deletionTimestamp",
  "labels",
  "finalizers",
  "ownerReferences",
] as const;

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
 * A VM: its metadata (vmnet.io/* annotations included: vmnet.io/addresses, vmnet.io/pools,
 * vmnet.io/expose), run strategy, the template's labels and annotations, and of the template spec
 * what the VM controller and the re-check of KubeVirt's rules (domain/kubevirt-rules.ts) read:
 * the networks and every field of every interface, autoattachPodInterface, the disks' boot
 * positions and the network probes. Not its status, volumes, resources or the disks themselves.
 */
export function projectVm(vm: VirtualMachine): VirtualMachine {
  const spec = vm.spec;
  const template = spec?.template;
  const tspec = template?.spec as Record<string, unknown> | undefined;
  const out: VirtualMachine = { metadata: projectMeta(vm.metadata as ObjectMeta) } as VirtualMachine;
  if (!spec) return out;
  out.spec = pick(spec, ["running", "runStrategy"]);
  if (!template) return out;
  const tmeta = template.metadata as { labels?: unknown; annotations?: unknown } | undefined;
  out.spec.template = {};
  if (tmeta) out.spec.template.metadata = pick(tmeta, ["labels", "annotations"]);
  if (tspec) out.spec.template.spec = projectTemplateSpec(tspec) as never;
  return out;
}

/** The template spec's networks, NICs, boot positions and network probes (see projectVm). */
function projectTemplateSpec(tspec: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = pick(tspec, ["networks"]);
  for (const probe of ["readinessProbe", "livenessProbe"]) {
    const p = tspec[probe];
    // Only whether a probe goes through the pod network is read.
    if (isObject(p) && (p.httpGet !== undefined || p.tcpSocket !== undefined)) out[probe] = pick(p, ["httpGet", "tcpSocket"]);
    else if (p !== undefined && !isObject(p)) out[probe] = p;
  }
  const domain = tspec.domain;
  if (!isObject(domain)) {
    if (domain !== undefined) out.domain = domain;
    return out;
  }
  const devices = domain.devices;
  if (!isObject(devices)) {
    out.domain = devices === undefined ? {} : { devices };
    return out;
  }
  const kept: Record<string, unknown> = pick(devices, ["interfaces", "autoattachPodInterface"]);
  const disks = bootOrders(devices.disks);
  if (disks) kept.disks = disks;
  out.domain = { devices: kept };
  return out;
}

/**
 * The disks reduced to their boot positions, in place (an interface's bootOrder clash names the
 * disk by index); undefined when no disk has one, which the rules read the same as no disks.
 */
function bootOrders(disks: unknown): unknown[] | undefined {
  if (!Array.isArray(disks) || !disks.some(d => isObject(d) && d.bootOrder !== undefined)) return undefined;
  return disks.map(d => (isObject(d) && d.bootOrder !== undefined ? { bootOrder: d.bootOrder } : {}));
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

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
