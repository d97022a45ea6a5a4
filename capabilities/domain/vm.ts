// Admission rules for a KubeVirt VirtualMachine's NICs and vmnet.io annotations. Pure.
import type { VirtualMachine } from "../api/external/kubevirt";
import { Findings, ValidationResult, isRecord, ratchet, show } from "./findings";
import { parseUnicastMac } from "./names";
import { nadPoolReadiness } from "./nad-readiness";
import { parseIP } from "./net";
import { poolName } from "./pool-view";
import type { AdmissionSnapshot } from "./snapshot";
import { checkAddresses } from "./vm-addresses";
import { checkPools } from "./vm-pools";
import { MacIndex, checkExposeAllowed, checkMacInUse, warnForeignNad } from "./vm-security";
import { PRODUCT_RULE, checkKubeVirtNetworkRules, isGoMac48 } from "./kubevirt-rules";
import { VMContext, annotationPath, vmContext } from "./vm-context";
import { IfaceEntry, NetEntry } from "./vm-nics";

import { EXPOSE_ANNOTATION, EXPOSE_TYPES, SERVICE_IP_ANNOTATION } from "./keys";

export { EXPOSE_ANNOTATION, EXPOSE_TYPES, SERVICE_IP_ANNOTATION };
export const ALLOW_POD_BRIDGE_MIGRATION = "kubevirt.io/allow-pod-bridge-network-live-migration";

/**
 * Validates a VM's network configuration. On update (oldVm given) a denial the old VM already
 * had is only a warning, so pre-existing problems never block finalizer or unrelated updates.
 */
export function validateVM(
  vm: VirtualMachine | unknown,
  snapshot: AdmissionSnapshot & MacIndex,
  oldVm?: VirtualMachine | unknown,
  policy: VmPolicy = {},
): ValidationResult {
  const result = checkVM(vm, snapshot, oldVm === undefined, policy);
  return oldVm === undefined ? result : ratchet(result, checkVM(oldVm, snapshot, false, policy));
}

/** Cluster settings the VM rules depend on. */
export interface VmPolicy {
  /** Service types vmnet.io/expose may ask for (default: all). */
  exposeTypes?: readonly string[];
}

function checkVM(vm: unknown, snapshot: AdmissionSnapshot & MacIndex, creating: boolean, policy: VmPolicy): ValidationResult {
  const out = new Findings();
  const ctx = vmContext(vm, out);
  checkKubeVirtNetworkRules(ctx, { creating, bindingPlugins: snapshot.bindingPlugins?.() }, out);
  ctx.nets.forEach(net => checkMultusRef(net, out));
  ctx.ifaces.forEach(iface => warnPodBridge(ctx, iface, out));
  checkMacs(ctx, out);
  ctx.ifaces.forEach(iface => checkMultusNetwork(ctx, iface, snapshot, out));
  checkAddresses(ctx, snapshot, out, checkPools(ctx, snapshot, out));
  checkExpose(ctx, out);
  checkTenantIsolation(ctx, snapshot, policy, out);
  return out.result();
}

/** Rules about other tenants (vm-security.ts). */
function checkTenantIsolation(ctx: VMContext, snapshot: AdmissionSnapshot & MacIndex, policy: VmPolicy, out: Findings): void {
  checkMacInUse(ctx, snapshot, out);
  warnForeignNad(ctx, out);
  checkExposeAllowed(ctx, policy.exposeTypes ?? EXPOSE_TYPES, out);
}

/** KubeVirt requires only a non-empty name (its own rule); a name no object can have would never start. */
function checkMultusRef(net: NetEntry, out: Findings): void {
  if (!net.ref || !("error" in net.ref)) return;
  const value = isRecord(net.raw.multus) ? net.raw.multus.networkName : undefined;
  if (typeof value !== "string" || value === "") return;
  out.deny(
    `${net.path}.multus.networkName`,
    value,
    `Multus network name ${show(value)} ${net.ref.error} (${PRODUCT_RULE}: KubeVirt admits it, but no NetworkAttachmentDefinition can have that name, so the VM could never start)`,
  );
}

function warnPodBridge(ctx: VMContext, iface: IfaceEntry, out: Findings): void {
  if (!iface.bindings.includes("bridge") || iface.network?.kind !== "pod" || ctx.templateAnnotations.has(ALLOW_POD_BRIDGE_MIGRATION))
    return;
  out.warn(
    `${iface.path}.bridge`,
    iface.name,
    `bridge binding on the pod network (interface ${show(iface.name)}) blocks live migration; use masquerade, or set annotation ${ALLOW_POD_BRIDGE_MIGRATION} in spec.template.metadata.annotations if the guest copes with the address change`,
  );
}

function checkMacs(ctx: VMContext, out: Findings): void {
  const seen = new Map<string, string>();
  for (const iface of ctx.ifaces) {
    const value = iface.raw.macAddress;
    // KubeVirt reads "" as unset; a malformed MAC is KubeVirt's rule (kubevirt-rules.ts).
    if (typeof value !== "string" || !isGoMac48(value)) continue;
    const path = `${iface.path}.macAddress`;
    const parsed = parseUnicastMac(value);
    if ("error" in parsed) {
      out.deny(
        path,
        value,
        `macAddress ${show(value)} of interface ${show(iface.name)} ${parsed.error} (${PRODUCT_RULE}: KubeVirt admits it, but a NIC cannot use it)`,
      );
      continue;
    }
    const first = seen.get(parsed.mac);
    if (first !== undefined)
      out.deny(
        path,
        value,
        `macAddress ${show(value)} of interface ${show(iface.name)} is also the MAC of interface ${show(first)}; give every interface its own MAC, or omit it`,
      );
    else seen.set(parsed.mac, iface.name ?? "");
  }
}

function checkMultusNetwork(ctx: VMContext, iface: IfaceEntry, snapshot: AdmissionSnapshot, out: Findings): void {
  const net = iface.network;
  if (!net?.ref || "error" in net.ref) return;
  const { namespace, name, qualified } = net.ref;
  const path = `${net.path}.multus.networkName`;
  const nad = snapshot.nad(namespace, name);
  if (!nad)
    out.warn(path, qualified, `NetworkAttachmentDefinition ${qualified} does not exist (yet); the VM will not start until it is created`);
  const pools = snapshot.poolsForNetwork(qualified);
  if (!iface.bindings.includes("bridge")) {
    if (pools.length > 0)
      out.warn(
        path,
        qualified,
        `network ${qualified} is served by IPPool ${show(poolName(pools[0]))}, but interface ${show(iface.name)} uses ${iface.bindings.join(", ") || "no binding"}: only bridge interfaces get a fixed address from a pool (${PRODUCT_RULE}), so this one gets none; use bridge: {} for a pool address`,
      );
    return;
  }
  const readiness = nad && pools.length > 0 ? nadPoolReadiness(nad.spec?.config) : { ready: true };
  if (!readiness.ready)
    out.warn(
      path,
      qualified,
      `NetworkAttachmentDefinition ${qualified} is served by IPPool ${show(poolName(pools[0]))} but is not ready for fixed addresses: ${readiness.reason}`,
    );
}

function checkExpose(ctx: VMContext, out: Findings): void {
  const expose = ctx.annotations.get(EXPOSE_ANNOTATION);
  const serviceIP = ctx.annotations.get(SERVICE_IP_ANNOTATION);
  if (expose !== undefined) checkExposeValue(ctx, expose, out);
  if (serviceIP === undefined) return;
  const path = annotationPath(SERVICE_IP_ANNOTATION);
  if (!parseIP(serviceIP))
    out.deny(
      path,
      serviceIP,
      `${show(serviceIP)} is not an IP address; give the ClusterIP to pin, such as 10.96.0.50, or remove the annotation`,
    );
  if (expose === undefined) out.warn(path, serviceIP, `has no effect without annotation ${EXPOSE_ANNOTATION}`);
}

function checkExposeValue(ctx: VMContext, expose: unknown, out: Findings): void {
  const path = annotationPath(EXPOSE_ANNOTATION);
  if (typeof expose !== "string" || !(EXPOSE_TYPES as readonly string[]).includes(expose)) {
    out.deny(path, expose, `${show(expose)} is not a Service type; use ${EXPOSE_TYPES.join(", ")}`);
    return;
  }
  const masquerade = ctx.ifaces.filter(i => i.bindings.includes("masquerade"));
  const withPorts = masquerade.filter(i => Array.isArray(i.raw.ports) && i.raw.ports.length > 0);
  if (masquerade.length === 0) {
    out.deny(
      path,
      expose,
      `${EXPOSE_ANNOTATION}: ${expose} needs a masquerade interface on the pod network to expose; add one, or remove the annotation`,
    );
  } else if (withPorts.length === 0) {
    out.deny(
      path,
      expose,
      `${EXPOSE_ANNOTATION}: ${expose} needs the ports to expose: list them in ${masquerade[0].path}.ports, such as [{port: 22}]`,
    );
  } else {
    checkExposedPorts(withPorts[0], out);
  }
}

/** The Service lists the interface's ports, and a Service cannot list a port and protocol twice. */
function checkExposedPorts(iface: IfaceEntry, out: Findings): void {
  const ports: unknown[] = Array.isArray(iface.raw.ports) ? iface.raw.ports : [];
  const seen = new Map<string, number>();
  ports.forEach((p, i) => {
    if (!isRecord(p) || typeof p.port !== "number") return;
    const key = `${p.port}/${typeof p.protocol === "string" && p.protocol !== "" ? p.protocol : "TCP"}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else
      out.deny(
        `${iface.path}.ports[${i}]`,
        p,
        `port ${key} of interface ${show(iface.name)} is already listed at ports[${first}], and ${EXPOSE_ANNOTATION} makes a Service of them, which cannot list a port twice (${PRODUCT_RULE}: KubeVirt admits it); list each port and protocol once`,
      );
  });
}
