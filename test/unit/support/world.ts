// The controllers wired as the operator wires them, on the in-memory client (memory-client.ts)
// instead of the API server: a test writes objects into the client, `sync()` lists them into the
// view's caches through the table of watched kinds (as the operator's relist does), then calls a
// reconciler and reads back what it wrote.
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import type { IPPool } from "../../../capabilities/api/ippool-v1alpha1";
import type { VirtualMachine } from "../../../capabilities/api/external/kubevirt";
import { Binder } from "../../../capabilities/controllers/binder";
import { ClusterView } from "../../../capabilities/controllers/cluster-view";
import { GarbageSweep } from "../../../capabilities/controllers/garbage-sweep";
import { MigrationController } from "../../../capabilities/controllers/migration-controller";
import { PoolController } from "../../../capabilities/controllers/pool-controller";
import { ServiceController } from "../../../capabilities/controllers/service-controller";
import { VmController } from "../../../capabilities/controllers/vm-controller";
import { WATCHED } from "../../../capabilities/controllers/watched";
import { keyId, Result, WorkKey } from "../../../capabilities/controllers/reconcile";
import { terminalReporter } from "../../../capabilities/controllers/report";
import { WorkQueue } from "../../../capabilities/controllers/work-queue";
import { HasMeta } from "../../../capabilities/k8s/cache";
import { KubeObject } from "../../../capabilities/k8s/client";
import { EventSink, EventType } from "../../../capabilities/k8s/events";
import { Kinds } from "../../../capabilities/k8s/kinds";
import { MemoryClient } from "./memory-client";

export interface RecordedEvent {
  kind: string;
  name: string;
  uid: string;
  type: EventType;
  reason: string;
  message: string;
}

/** A NAD spec.config that can carry fixed addresses (ovs with static IPAM and both capabilities). */
export const OVS_CONFIG = (name: string): string =>
  JSON.stringify({
    cniVersion: "0.4.0",
    name,
    type: "ovs",
    bridge: "br-vmnet",
    vlan: 100,
    ipam: { type: "static" },
    capabilities: { ips: true, mac: true },
  });

export interface Nic {
  name: string;
  /** A Multus network (bridge binding); none: masquerade on the pod network. */
  network?: string;
  model?: string;
}

export function vmManifest(namespace: string, name: string, nics: Nic[]): VirtualMachine {
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachine",
    metadata: { name, namespace },
    spec: {
      runStrategy: "Always",
      template: {
        spec: {
          domain: {
            devices: {
              interfaces: nics.map(n => ({
                name: n.name,
                [n.network ? "bridge" : "masquerade"]: {},
                ...(n.model ? { model: n.model } : {}),
              })),
            },
          },
          networks: nics.map(n => (n.network ? { name: n.name, multus: { networkName: n.network } } : { name: n.name, pod: {} })),
        },
      },
    },
  } as unknown as VirtualMachine;
}

export class World {
  readonly client = new MemoryClient();
  readonly view = new ClusterView();
  readonly events: RecordedEvent[] = [];
  readonly event: EventSink = (target, type, reason, message) =>
    void this.events.push({ kind: target.kind, name: target.metadata.name, uid: target.metadata.uid, type, reason, message });
  readonly binder = new Binder(this.client, this.view);
  readonly vms = new VmController(
    this.client,
    this.view,
    this.binder,
    this.event,
    new ServiceController(this.client, this.view.caches.services, this.event),
  );
  readonly pools = new PoolController(this.client, this.view);
  readonly migrations = new MigrationController(this.client, this.view, this.binder, this.event);

  /** Retryable failures (key id, attempt) and terminal log lines, as the operator logs them. */
  readonly retries: { key: string; attempt: number; err: unknown }[] = [];
  readonly errorLines: string[] = [];

  /** A work queue wired to the reconcilers as the operator wires it (short backoff for tests). */
  queue(baseDelayMs = 5): WorkQueue<WorkKey> {
    return new WorkQueue<WorkKey>(key => this.#reconcile(key), {
      id: keyId,
      baseDelayMs,
      maxDelayMs: 50,
      onError: (key, err, attempt) => void this.retries.push({ key: keyId(key), attempt, err }),
      onTerminal: terminalReporter(this.view, this.event, { error: (_, message) => void this.errorLines.push(message) }),
    });
  }

  #reconcile(key: WorkKey): Promise<Result | void> {
    if (key.kind === "vm") return this.vms.reconcile(key);
    if (key.kind === "pool") return this.pools.reconcile(key);
    if (key.kind === "migration") return this.migrations.reconcile(key);
    return this.vms.freeAddresses(key.namespace, key.name);
  }

  sweeper(graceMs: number): GarbageSweep {
    return new GarbageSweep(this.client, this.view, this.vms, graceMs);
  }

  /** Lists every watched kind into its cache, as the operator's relist does (allocators rebuilt). */
  async sync(): Promise<void> {
    for (const w of WATCHED) w.cache(this.view.caches).replace((await this.client.list<KubeObject>(w.ref)).items as HasMeta[]);
    for (const pool of this.view.caches.pools.keys()) this.view.forgetPool(pool);
    this.client.calls.length = 0; // a test counts the calls of what it drives, not of the sync
  }

  /** A ready network `ns/name` served by a pool. */
  network(ns: string, name: string, pool: string, cidr: string, extra: Partial<NonNullable<IPPool["spec"]>> = {}): void {
    this.client.seed(Kinds.Namespace, { metadata: { name: ns } });
    this.client.seed(Kinds.NetworkAttachmentDefinition, { metadata: { name, namespace: ns }, spec: { config: OVS_CONFIG(name) } });
    const gateway = cidr.replace(/\d+\/\d+$/, "1");
    this.client.seed(Kinds.IPPool, { metadata: { name: pool }, spec: { cidr, gateway, networks: [`${ns}/${name}`], ...extra } });
  }

  claim(ns: string, name: string): IPClaim | undefined {
    return this.client.peek<IPClaim>(Kinds.IPClaim, name, ns);
  }

  /** Warnings (or Normal Events) recorded with this reason. */
  eventsWith(reason: string): RecordedEvent[] {
    return this.events.filter(e => e.reason === reason);
  }
}

/** A World with network t/vlan100 served by pool pa (10.1.0.0/24) and VM t/web with one NIC, ovs1, on it; synced, not reconciled. */
export async function oneNicVm(): Promise<World> {
  const w = new World();
  w.network("t", "vlan100", "pa", "10.1.0.0/24");
  w.client.seed(Kinds.VirtualMachine, vmManifest("t", "web", [{ name: "ovs1", network: "vlan100" }]));
  await w.sync();
  return w;
}

export function boundCondition(claim: IPClaim | undefined): { status: string; reason: string; message: string } | undefined {
  return claim?.status?.conditions?.find(c => c.type === "Bound");
}
