// Small helpers shared by integration tests.
import type { IPClaim } from "../capabilities/api/ipclaim-v1alpha1";
import { KubeObject } from "../capabilities/k8s/client";
import { Kinds } from "../capabilities/k8s/kinds";
import { cluster, freshNamespace } from "./setup/cluster";

export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise(r => setTimeout(r, 150));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `; last error: ${String(last)}` : ""}`);
}

export interface NicSpec {
  name: string;
  network?: string; // Multus network; absent: the pod network
  binding?: "bridge" | "masquerade";
  macAddress?: string;
  ports?: { port: number; protocol?: string; name?: string }[];
}

export function vmManifest(
  namespace: string,
  name: string,
  nics: NicSpec[],
  annotations: Record<string, string> = {},
  runStrategy = "Always",
): KubeObject {
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachine",
    metadata: { name, namespace, annotations },
    spec: {
      runStrategy,
      template: {
        spec: {
          domain: {
            devices: {
              interfaces: nics.map(n => ({
                name: n.name,
                [n.binding ?? (n.network ? "bridge" : "masquerade")]: {},
                ...(n.macAddress ? { macAddress: n.macAddress } : {}),
                ...(n.ports ? { ports: n.ports } : {}),
              })),
            },
            resources: { requests: { memory: "64Mi" } },
          },
          networks: nics.map(n => (n.network ? { name: n.name, multus: { networkName: n.network } } : { name: n.name, pod: {} })),
        },
      },
    },
  };
}

export const OVS_STATIC_CONFIG = (name: string, vlan = 100): string =>
  JSON.stringify({
    cniVersion: "0.4.0",
    name,
    type: "ovs",
    bridge: "br-vmnet",
    vlan,
    ipam: { type: "static" },
    capabilities: { ips: true, mac: true },
  });

export async function createNad(namespace: string, name: string, config = OVS_STATIC_CONFIG(name)): Promise<void> {
  await cluster().client.apply(Kinds.NetworkAttachmentDefinition, { metadata: { name, namespace }, spec: { config } });
}

export async function createPool(name: string, spec: Record<string, unknown>): Promise<void> {
  await cluster().client.apply(Kinds.IPPool, { metadata: { name }, spec });
}

export async function boundClaim(namespace: string, name: string, timeoutMs = 30_000): Promise<IPClaim> {
  return eventually(
    `IPClaim ${namespace}/${name} Bound`,
    async () => {
      const c = await cluster().client.getOrUndefined<IPClaim>(Kinds.IPClaim, name, namespace);
      return c?.status?.conditions?.some(x => x.type === "Bound" && x.status === "True") ? c : undefined;
    },
    timeoutMs,
  );
}

export async function claimCondition(namespace: string, name: string, reason: string): Promise<IPClaim> {
  return eventually(`IPClaim ${namespace}/${name} with Bound reason ${reason}`, async () => {
    const c = await cluster().client.getOrUndefined<IPClaim>(Kinds.IPClaim, name, namespace);
    return c?.status?.conditions?.some(x => x.type === "Bound" && x.reason === reason) ? c : undefined;
  });
}

export async function gone(kind: (typeof Kinds)[keyof typeof Kinds], name: string, namespace?: string, timeoutMs = 30_000): Promise<void> {
  await eventually(
    `${kind.kind} ${namespace ? namespace + "/" : ""}${name} to be gone`,
    async () => !(await cluster().client.getOrUndefined(kind, name, namespace)) || undefined,
    timeoutMs,
  );
}

/** An Event as the tests read it (managedFields only when the API server keeps them). */
export interface EventObject {
  metadata: { name: string; managedFields?: { manager: string }[] };
  type: string;
  reason: string;
  message: string;
  count?: number;
  involvedObject: { kind: string; name: string; uid?: string };
}

/** The Events of one object, listed fresh from the API server. */
export async function eventsOf(namespace: string, kind: string, name: string): Promise<EventObject[]> {
  const list = await cluster().client.list<EventObject>(Kinds.Event, {
    namespace,
    fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}`,
  });
  return list.items;
}

/**
 * A fresh namespace (named after `tag`) with NAD vlan100 (ovs, static IPAM) and IPPool `<tag>-<ns>`
 * serving it on a unique /24 with gateway .1; `prefix` is the /24's first three octets.
 */
export async function poolNetwork(tag: string): Promise<{ ns: string; pool: string; prefix: string }> {
  const ns = await freshNamespace(tag);
  const subnet = uniqueSubnet();
  const pool = `${tag}-${ns}`;
  await createNad(ns, "vlan100");
  await createPool(pool, { cidr: subnet.cidr, gateway: `${subnet.prefix}.1`, networks: [`${ns}/vlan100`] });
  return { ns, pool, prefix: subnet.prefix };
}

/** poolNetwork(tag), and VM `vm` there with one NIC ovs1 on vlan100, waited for until its claim `vm.ovs1` is Bound. */
export async function boundVm(tag: string, vm = "vm"): Promise<{ ns: string; pool: string; prefix: string; claim: IPClaim }> {
  const net = await poolNetwork(tag);
  await cluster().client.create(Kinds.VirtualMachine, vmManifest(net.ns, vm, [{ name: "ovs1", network: "vlan100" }]));
  return { ...net, claim: await boundClaim(net.ns, `${vm}.ovs1`) };
}

let poolSeq = 0;
/** A unique /24 per test, so tests never share addresses. */
export function uniqueSubnet(): { cidr: string; prefix: string } {
  poolSeq++;
  const third = (process.pid + poolSeq) % 250;
  const second = 100 + (poolSeq % 100);
  return { cidr: `10.${second}.${third}.0/24`, prefix: `10.${second}.${third}` };
}

/** The MAC DESIGN derives from an IPv4 address (02:00 and its four octets), written from the spec
 *  as the tests' oracle, not taken from capabilities/ipam/mac.ts. */
export function macOf(ipv4: string): string {
  return (
    "02:00:" +
    ipv4
      .split(".")
      .map(o => Number(o).toString(16).padStart(2, "0"))
      .join(":")
  );
}
