// Stable endpoint for masquerade VMs: a VM annotated vmnet.io/expose gets a Service named after
// it that selects its virt-launcher pod, with the masquerade interface's ports, so the VM keeps
// one address across restarts and live migrations while its pod IP changes.
import type { VirtualMachine } from "../api/external/kubevirt";
import { nicPorts, vmNics } from "../domain/vm-nics";
import { KubeApi, KubeObject } from "../k8s/client";
import { ObjectCache } from "../k8s/cache";
import { errorText, InvalidError, isConflict } from "../k8s/errors";
import { EventSink, eventTarget } from "../k8s/events";
import { Kinds } from "../k8s/kinds";
import { EXPOSE_ANNOTATION, EXPOSE_TYPES, SERVICE_IP_ANNOTATION } from "../domain/keys";
import { allowedExposeTypes } from "../domain/config";
import { MANAGED_BY, VM_LABEL } from "./render";

const TYPES = new Set<string>(EXPOSE_TYPES);

export interface ServiceObject extends KubeObject {
  spec?: { clusterIP?: string; type?: string; ports?: unknown[]; selector?: Record<string, string> };
}

/** The Service a VM should have, or why it cannot have one, or undefined when not exposed. Pure. */
export function renderService(
  vm: VirtualMachine,
  allowedTypes: readonly string[] = allowedExposeTypes(),
): { service: ServiceObject } | { problem: string } | undefined {
  const type = vm.metadata?.annotations?.[EXPOSE_ANNOTATION];
  if (type === undefined) return undefined;
  const problem = exposeProblem(type, allowedTypes);
  if (problem) return { problem };
  const nic = vmNics(vm).find(n => n.bindings.includes("masquerade"));
  const nicPortList = nic ? nicPorts(nic) : [];
  if (!nicPortList.length) {
    return {
      problem: `annotation ${EXPOSE_ANNOTATION} needs a masquerade interface with ports (spec.template.spec.domain.devices.interfaces[].ports)`,
    };
  }
  return { service: serviceOf(vm, type, nicPortList.map(servicePort)) };
}

/** Why the annotation's Service type cannot be had, or undefined. Pure. */
function exposeProblem(type: string, allowedTypes: readonly string[]): string | undefined {
  if (!TYPES.has(type)) return `annotation ${EXPOSE_ANNOTATION}=${JSON.stringify(type)} must be ClusterIP, NodePort or LoadBalancer`;
  // The admin's restriction holds for VMs annotated before it was set, too (no Service, an Event).
  if (!allowedTypes.includes(type))
    return `annotation ${EXPOSE_ANNOTATION}=${type}: Service type ${type} is not allowed on this cluster (allowed: ${allowedTypes.join(", ") || "none"})`;
  return undefined;
}

type ServicePort = { name: string; port: number; targetPort: number; protocol: string };

function servicePort(p: { name?: string; port: number; protocol?: string }): ServicePort {
  const protocol = (p.protocol ?? "TCP").toUpperCase();
  return { name: p.name ?? `${protocol.toLowerCase()}-${p.port}`, port: p.port, targetPort: p.port, protocol };
}

function serviceOf(vm: VirtualMachine, type: string, ports: ServicePort[]): ServiceObject {
  const name = vm.metadata!.name!;
  const clusterIP = vm.metadata?.annotations?.[SERVICE_IP_ANNOTATION];
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name,
      namespace: vm.metadata!.namespace,
      labels: { [VM_LABEL]: name, ...MANAGED_BY },
      ownerReferences: [
        { apiVersion: "kubevirt.io/v1", kind: "VirtualMachine", name, uid: vm.metadata!.uid!, controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: { type, selector: { "vm.kubevirt.io/name": name }, ports, ...(clusterIP ? { clusterIP } : {}) },
  };
}

export class ServiceController {
  constructor(
    private readonly client: KubeApi,
    /** Services we manage (label selected), kept by a watch: no API read per VM reconcile. */
    private readonly services: ObjectCache<ServiceObject>,
    private readonly event: EventSink,
  ) {}

  async reconcile(vm: VirtualMachine): Promise<void> {
    const ns = vm.metadata!.namespace!;
    const name = vm.metadata!.name!;
    const want = renderService(vm);
    if (!want) return this.#prune(ns, name);
    if ("problem" in want) {
      this.event(eventTarget("kubevirt.io/v1", "VirtualMachine", vm), "Warning", "InvalidExpose", want.problem);
      return this.#prune(ns, name);
    }
    const have = this.services.get(`${ns}/${name}`);
    if (have && sameService(have, want.service)) return;
    const pinned = want.service.spec?.clusterIP;
    if (have && pinned && have.spec?.clusterIP !== pinned) await this.client.delete(Kinds.Service, name, ns); // clusterIP is immutable
    await this.#apply(vm, want.service);
  }

  /** Applies the Service; one that someone else manages, or that the API server refuses, is reported on the VM. */
  async #apply(vm: VirtualMachine, service: ServiceObject): Promise<void> {
    const { namespace: ns, name } = service.metadata as { namespace: string; name: string };
    const vmRef = eventTarget("kubevirt.io/v1", "VirtualMachine", vm);
    try {
      // Not forced: a Service of the same name that someone else manages is reported, not taken over.
      this.services.upsert(await this.client.apply<ServiceObject>(Kinds.Service, service, { force: false }));
    } catch (err) {
      if (isConflict(err)) {
        this.event(
          vmRef,
          "Warning",
          "ServiceExists",
          `Service ${ns}/${name} exists and is managed by someone else; remove it or the ${EXPOSE_ANNOTATION} annotation (${errorText(err)})`,
        );
        return;
      }
      if (err instanceof InvalidError) {
        // Typically a vmnet.io/service-ip outside the service range or already taken.
        const pinned = service.spec?.clusterIP;
        this.event(
          vmRef,
          "Warning",
          "ServiceRejected",
          `Service ${ns}/${name} (${SERVICE_IP_ANNOTATION}=${pinned ?? "unset"}) was refused: ${errorText(err)}`,
        );
        return;
      }
      throw err;
    }
  }

  async #prune(ns: string, name: string): Promise<void> {
    const have = this.services.get(`${ns}/${name}`);
    if (!have || have.metadata?.labels?.[VM_LABEL] !== name) return;
    await this.client.delete(Kinds.Service, name, ns, { uid: have.metadata?.uid });
    this.services.remove(have);
  }
}

/** The fields we render are what the Service has (the API server adds defaults beside them). */
function sameService(have: ServiceObject, want: ServiceObject): boolean {
  const w = want.spec!;
  const h = have.spec ?? {};
  const ports = (p: unknown[] | undefined): string =>
    JSON.stringify(
      (p ?? [])
        .map(x => x as { name?: string; port?: number; targetPort?: unknown; protocol?: string })
        .map(x => [x.name, x.port, x.targetPort, x.protocol]),
    );
  return h.type === w.type && ports(h.ports) === ports(w.ports) && (!w.clusterIP || h.clusterIP === w.clusterIP);
}
