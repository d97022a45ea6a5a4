// Plain-data fixtures for the admission unit tests: a snapshot built from arrays, and builders.
import assert from "node:assert/strict";
import type { NetworkAttachmentDefinition } from "../../../capabilities/api/external/multus";
import { PoolAllocator } from "../../../capabilities/ipam/allocator";
import { PoolSpecInput, poolLayout } from "../../../capabilities/ipam/pool-layout";
import type { AdmissionSnapshot, AllocationLike, Finding, IPPoolLike, ValidationResult } from "../../../capabilities/admission/rules";

export interface World {
  pools?: IPPoolLike[];
  nads?: NetworkAttachmentDefinition[];
  namespaces?: Record<string, Record<string, string>>;
  allocations?: (AllocationLike & { pool: string })[];
}

export function snapshot(world: World = {}): AdmissionSnapshot {
  const pools = world.pools ?? [];
  const allocations = world.allocations ?? [];
  return {
    poolsForNetwork: network => pools.filter(p => (p.spec?.networks ?? []).includes(network)),
    pool: name => pools.find(p => p.metadata?.name === name),
    pools: () => pools,
    nad: (namespace, name) => (world.nads ?? []).find(n => n.metadata?.namespace === namespace && n.metadata?.name === name),
    namespaceLabels: ns => world.namespaces?.[ns],
    holderOf: (pool, address) => {
      const a = allocations.find(x => x.pool === pool && x.address === address);
      return a && { namespace: a.namespace, claim: a.claim, vm: a.vm };
    },
    allocationsInPool: pool => allocations.filter(a => a.pool === pool),
    requestRefusal: (name, owner, address) => allocatorOf(pools, allocations, name)?.checkRequest(owner, address),
  };
}

/** The binder's own allocator for a pool, rebuilt from the world's allocations (as ClusterView does). */
function allocatorOf(pools: IPPoolLike[], allocations: (AllocationLike & { pool: string })[], name: string): PoolAllocator | undefined {
  const spec = pools.find(p => p.metadata?.name === name)?.spec;
  if (!spec?.cidr) return undefined;
  const allocator = new PoolAllocator(poolLayout(spec as PoolSpecInput));
  allocator.rebuild(allocations.filter(a => a.pool === name).map(a => ({ address: a.address, owner: `${a.namespace}/${a.claim}` })));
  return allocator;
}

export const OVS_READY = JSON.stringify({
  cniVersion: "0.4.0",
  name: "vlan100",
  type: "ovs",
  bridge: "br1",
  vlan: 100,
  ipam: { type: "static" },
  capabilities: { ips: true },
});

export function nad(namespace: string, name: string, config: unknown = OVS_READY): NetworkAttachmentDefinition {
  return {
    apiVersion: "k8s.cni.cncf.io/v1",
    kind: "NetworkAttachmentDefinition",
    metadata: { namespace, name },
    spec: { config },
  } as NetworkAttachmentDefinition;
}

export function pool(name: string, spec: Record<string, unknown>): IPPoolLike {
  return { metadata: { name }, spec: spec as IPPoolLike["spec"] };
}

export const VLAN100_POOL = pool("tenant-a-vlan100", {
  cidr: "10.100.0.0/24",
  ranges: ["10.100.0.10-10.100.0.200"],
  exclude: ["10.100.0.50", "10.100.0.64/28"],
  gateway: "10.100.0.1",
  defaultRoute: true,
  networks: ["tenant-a/vlan100"],
});

export const VLAN100_POOL6 = pool("tenant-a-vlan100-v6", { cidr: "fd00:100::/64", networks: ["tenant-a/vlan100"] });

/** A world where tenant-a/vlan100 is a ready OVS network served by an IPv4 and an IPv6 pool. */
export function tenantWorld(extra: World = {}): World {
  return {
    pools: [VLAN100_POOL, VLAN100_POOL6, ...(extra.pools ?? [])],
    nads: [nad("tenant-a", "vlan100"), ...(extra.nads ?? [])],
    namespaces: { "tenant-a": { tenant: "a" }, "tenant-b": { tenant: "b" }, ...extra.namespaces },
    allocations: extra.allocations ?? [],
  };
}

type Obj = Record<string, unknown>;

export interface VMParts {
  namespace?: string;
  name?: string;
  interfaces?: Obj[];
  networks?: Obj[];
  annotations?: Record<string, unknown>;
  templateAnnotations?: Record<string, unknown>;
}

/** A VM with a masquerade NIC on the pod network and a bridge NIC on tenant-a/vlan100 by default. */
export function vm(parts: VMParts = {}): Obj {
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachine",
    metadata: { namespace: parts.namespace ?? "tenant-a", name: parts.name ?? "web-1", annotations: parts.annotations },
    spec: {
      runStrategy: "Always",
      template: {
        metadata: { annotations: parts.templateAnnotations },
        spec: {
          domain: {
            devices: {
              interfaces: parts.interfaces ?? [
                { name: "default", masquerade: {}, ports: [{ port: 22 }] },
                { name: "ovs1", bridge: {} },
              ],
            },
          },
          networks: parts.networks ?? [
            { name: "default", pod: {} },
            { name: "ovs1", multus: { networkName: "tenant-a/vlan100" } },
          ],
        },
      },
    },
  };
}

export const IFACES = "spec.template.spec.domain.devices.interfaces";
export const NETS = "spec.template.spec.networks";

/** Asserts a denial on exactly this field whose message contains every fragment. */
export function assertDenied(result: ValidationResult, field: string, ...fragments: string[]): Finding {
  return assertFinding(result.denials, "denial", result, field, fragments);
}

export function assertWarned(result: ValidationResult, field: string, ...fragments: string[]): Finding {
  return assertFinding(result.warnings, "warning", result, field, fragments);
}

function assertFinding(list: Finding[], what: string, result: ValidationResult, field: string, fragments: string[]): Finding {
  const found = list.find(f => f.field === field && fragments.every(s => f.message.includes(s)));
  assert.ok(found, `expected a ${what} on ${field} mentioning ${JSON.stringify(fragments)}; got ${JSON.stringify(result, null, 1)}`);
  return found;
}

export function assertNoDenials(result: ValidationResult): void {
  assert.deepEqual(result.denials, [], JSON.stringify(result.denials, null, 1));
}
