// Admission rules for a KubeVirt VirtualMachine's NICs and vmnet.io annotations. Pure.
import type { VirtualMachine } from "../api/external/kubevirt";
import { Findings, ValidationResult, isRecord, ratchet, show } from "./findings";
import { parseUnicastMac } from "./names";
import { nadPoolReadiness } from "./nad-readiness";
import { parseIP } from "./net";
import { poolName } from "./pool-view";
import { effectiveNamespaceLabels, selectorMatches } from "./selector";
import type { AdmissionSnapshot, IPPoolLike } from "./snapshot";
import { checkAddresses } from "./vm-addresses";
import { MacIndex, checkExposeAllowed, checkMacInUse, warnForeignNad } from "./vm-security";
import { IfaceEntry, NETWORKS, NetEntry, VMContext, annotationPath, present, typeName, vmContext } from "./vm-context";

export const EXPOSE_ANNOTATION = "vmnet.io/expose";
export const SERVICE_IP_ANNOTATION = "vmnet.io/service-ip";
export const ALLOW_POD_BRIDGE_MIGRATION = "kubevirt.io/allow-pod-bridge-network-live-migration";
export const EXPOSE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const;
const PROTOCOLS = ["TCP", "UDP", "SCTP"];

/**
 * Validates a VM's network configuration. On update (oldVm given) a denial the old VM already
 * had is only a warning, so pre-existing problems never block finalizer or unrelated updates.
 */
export function validateVM(vm: VirtualMachine | unknown, snapshot: AdmissionSnapshot & MacIndex, oldVm?: VirtualMachine | unknown, policy: VmPolicy = {}): ValidationResult {
  const result = checkVM(vm, snapshot, policy);
  return oldVm === undefined ? result : ratchet(result, checkVM(oldVm, snapshot, policy));
}

/** Cluster settings the VM rules depend on. */
export interface VmPolicy {
  /** Service types vmnet.io/expose may ask for (default: all). */
  exposeTypes?: readonly string[];
}

function checkVM(vm: unknown, snapshot: AdmissionSnapshot & MacIndex, policy: VmPolicy): ValidationResult {
  const out = new Findings();
  const ctx = vmContext(vm, out);
  checkUniqueNames(ctx, out);
  checkPairing(ctx, out);
  ctx.nets.forEach(net => checkNetworkSource(net, out));
  checkSinglePodNetwork(ctx, out);
  ctx.ifaces.forEach(iface => checkBinding(ctx, iface, out));
  ctx.ifaces.forEach(iface => checkPorts(iface, out));
  checkMacs(ctx, out);
  ctx.ifaces.forEach(iface => checkMultusNetwork(ctx, iface, snapshot, out));
  checkAddresses(ctx, snapshot, out);
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

function checkUniqueNames(ctx: VMContext, out: Findings): void {
  for (const [entries, what] of [
    [ctx.ifaces, "interface"],
    [ctx.nets, "network"],
  ] as const) {
    const seen = new Map<string, string>();
    for (const e of entries) {
      const first = seen.get(e.name ?? "");
      if (first !== undefined)
        out.deny(`${e.path}.name`, e.name, `${what} name ${show(e.name)} is already used by ${first}; give every ${what} a unique name`);
      else seen.set(e.name ?? "", e.path);
    }
  }
}

function checkPairing(ctx: VMContext, out: Findings): void {
  for (const iface of ctx.ifaces) {
    if (iface.network) continue;
    out.deny(
      `${iface.path}.name`,
      iface.name,
      `interface ${show(iface.name)} has no network of the same name in ${NETWORKS}; add one (pod: {} or multus: {networkName: ...}) or rename the interface`,
    );
  }
  for (const net of ctx.nets) {
    if (ctx.ifaceByName.has(net.name ?? "")) continue;
    out.deny(
      `${net.path}.name`,
      net.name,
      `network ${show(net.name)} has no interface of the same name in spec.template.spec.domain.devices.interfaces; add an interface named ${show(net.name)} or remove the network`,
    );
  }
}

function checkNetworkSource(net: NetEntry, out: Findings): void {
  const pod = present(net.raw.pod);
  const multus = present(net.raw.multus);
  if (pod && multus) out.deny(net.path, net.name, `network ${show(net.name)} sets both pod and multus; keep one of them`);
  else if (!pod && !multus)
    out.deny(
      net.path,
      net.name,
      `network ${show(net.name)} sets neither pod: {} nor multus: {networkName: "namespace/name"}; set one of them`,
    );
  if (multus && !isRecord(net.raw.multus))
    out.deny(
      `${net.path}.multus`,
      net.raw.multus,
      `must be an object such as {networkName: "tenant-a/vlan100"}, not ${typeName(net.raw.multus)}`,
    );
  if (net.ref && "error" in net.ref) {
    const value = isRecord(net.raw.multus) ? net.raw.multus.networkName : undefined;
    out.deny(`${net.path}.multus.networkName`, value, `Multus network name ${show(value)} ${net.ref.error}`);
  }
}

function checkSinglePodNetwork(ctx: VMContext, out: Findings): void {
  const pods = ctx.nets.filter(n => n.kind === "pod");
  for (const extra of pods.slice(1)) {
    out.deny(
      `${extra.path}.pod`,
      extra.name,
      `network ${show(extra.name)} is a second pod network (${pods[0].path} is the first); a VM has at most one, use a Multus network for more NICs`,
    );
  }
}

function checkBinding(ctx: VMContext, iface: IfaceEntry, out: Findings): void {
  const name = show(iface.name);
  if (iface.bindings.length === 0) {
    out.deny(iface.path, iface.name, `interface ${name} sets no binding; set exactly one of bridge: {}, masquerade: {} or sriov: {}`);
  } else if (iface.bindings.length > 1) {
    out.deny(
      `${iface.path}.${iface.bindings[1]}`,
      iface.bindings,
      `interface ${name} sets ${iface.bindings.length} bindings (${iface.bindings.join(", ")}); keep exactly one`,
    );
  }
  const net = iface.network;
  if (iface.bindings.includes("masquerade") && net && net.kind !== "pod") {
    const where =
      net.kind === "multus" ? `Multus network ${show(multusName(net))}` : `network ${show(net.name)}, which is not the pod network,`;
    out.deny(
      `${iface.path}.masquerade`,
      multusName(net) ?? net.name,
      `masquerade binding on ${where} is not allowed; use bridge, or move the interface to the pod network`,
    );
  }
  if (iface.bindings.includes("bridge") && net?.kind === "pod" && !ctx.templateAnnotations.has(ALLOW_POD_BRIDGE_MIGRATION)) {
    out.warn(
      `${iface.path}.bridge`,
      iface.name,
      `bridge binding on the pod network (interface ${name}) blocks live migration; use masquerade, or set annotation ${ALLOW_POD_BRIDGE_MIGRATION} in spec.template.metadata.annotations if the guest copes with the address change`,
    );
  }
}

function checkPorts(iface: IfaceEntry, out: Findings): void {
  const ports = iface.raw.ports;
  if (!present(ports)) return;
  if (!Array.isArray(ports)) {
    out.deny(`${iface.path}.ports`, ports, `must be a list of {port, protocol}, not ${typeName(ports)}`);
    return;
  }
  const seen = new Map<string, number>();
  ports.forEach((p: unknown, i) => {
    const path = `${iface.path}.ports[${i}]`;
    const key = checkPort(p, path, out);
    if (key === undefined) return;
    const first = seen.get(key);
    if (first !== undefined)
      out.deny(
        path,
        p,
        `port ${key} of interface ${show(iface.name)} is already listed at ports[${first}]; list each port and protocol once`,
      );
    else seen.set(key, i);
  });
}

/** Checks one port; returns "port/PROTOCOL" when it is valid. */
function checkPort(p: unknown, path: string, out: Findings): string | undefined {
  if (!isRecord(p)) {
    out.deny(path, p, `must be an object such as {port: 80, protocol: TCP}, not ${typeName(p)}`);
    return undefined;
  }
  const port = p.port;
  const protocol = p.protocol ?? "TCP";
  const portOk = typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535;
  if (!portOk) out.deny(`${path}.port`, port, `port ${show(port)} is not a port number; use an integer from 1 to 65535`);
  const protoOk = typeof protocol === "string" && PROTOCOLS.includes(protocol);
  if (!protoOk) out.deny(`${path}.protocol`, protocol, `protocol ${show(protocol)} is not supported; use TCP, UDP or SCTP (upper case)`);
  return portOk && protoOk ? `${port}/${protocol}` : undefined;
}

function checkMacs(ctx: VMContext, out: Findings): void {
  const seen = new Map<string, string>();
  for (const iface of ctx.ifaces) {
    const value = iface.raw.macAddress;
    if (!present(value)) continue;
    const path = `${iface.path}.macAddress`;
    const parsed = parseUnicastMac(value);
    if ("error" in parsed) {
      out.deny(path, value, `macAddress ${show(value)} of interface ${show(iface.name)} ${parsed.error}`);
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
  if (!iface.bindings.includes("bridge")) return;
  const pools = snapshot.poolsForNetwork(qualified);
  checkPoolSelectors(ctx, qualified, path, pools, snapshot, out);
  const readiness = nad && pools.length > 0 ? nadPoolReadiness(nad.spec?.config) : { ready: true };
  if (!readiness.ready)
    out.warn(
      path,
      qualified,
      `NetworkAttachmentDefinition ${qualified} is served by IPPool ${show(poolName(pools[0]))} but is not ready for fixed addresses: ${readiness.reason}`,
    );
}

/** A tenant may not draw from a pool whose namespaceSelector excludes its namespace. */
function checkPoolSelectors(
  ctx: VMContext,
  network: string,
  path: string,
  pools: IPPoolLike[],
  snapshot: AdmissionSnapshot,
  out: Findings,
): void {
  const labels = effectiveNamespaceLabels(ctx.namespace, snapshot.namespaceLabels(ctx.namespace));
  for (const pool of pools) {
    const selector = isRecord(pool.spec) ? pool.spec.namespaceSelector : undefined;
    if (selectorMatches(selector, labels)) continue;
    out.deny(
      path,
      network,
      // Neither the pool's name nor its selector: a pool that does not serve this namespace is none of its business.
      `network ${show(network)} draws addresses from an IPPool that does not serve namespace ${show(ctx.namespace)}; use a network whose pool serves this namespace, or ask the cluster admin to let the pool select it`,
    );    return; // one sentence is enough, however many pools refuse
  }
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
  }
}

function multusName(net: NetEntry): string | undefined {
  if (net.ref && "qualified" in net.ref) return net.ref.qualified;
  const raw = isRecord(net.raw.multus) ? net.raw.multus.networkName : undefined;
  return typeof raw === "string" ? raw : undefined;
}
