// VM rules about other tenants: a MAC is unique on its L2 segment, a NAD of another namespace is
// worth a warning, and a Service type the cluster admin did not allow is refused. Kept apart from
// vm.ts (KubeVirt's own NIC rules) so the two evolve separately. Pure.
import { Findings, isRecord, present, show } from "./findings";
import { EXPOSE_ANNOTATION, EXPOSE_TYPES } from "./keys";
import { domainOfNetwork, domainsOfPool } from "./l2";
import { containsIP, parseCIDR, parseIP } from "./net";
import { parseUnicastMac } from "./names";
import { segmentText } from "./pool-conflicts";
import type { AdmissionSnapshot } from "./snapshot";
import { VMContext, annotationPath } from "./vm-context";
import { IfaceEntry, multusNetwork } from "./vm-nics";

/** Who holds a MAC: an IPClaim (of some namespace) on a network. */
export interface MacHolder {
  namespace: string;
  claim: string;
  network: string;
}

/** The optional part of the snapshot these rules read (test snapshots may leave it out). */
export interface MacIndex {
  macHolders?(mac: string): MacHolder[];
}

/**
 * A macAddress in the spec that another NIC on the same L2 segment holds (derived from its
 * address or set in its VM) is refused. The message names nothing of the holder: it may be
 * another tenant's.
 */
export function checkMacInUse(ctx: VMContext, snapshot: AdmissionSnapshot & MacIndex, out: Findings): void {
  if (!snapshot.macHolders) return;
  for (const iface of ctx.ifaces) {
    const value = iface.raw.macAddress;
    const network = multusNetwork(iface);
    if (!present(value) || !network) continue;
    const parsed = parseUnicastMac(value);
    if ("error" in parsed) continue; // checkMacs in vm.ts reports it
    const problem = macProblem(ctx, iface, parsed.mac, network, snapshot as AdmissionSnapshot & Required<MacIndex>);
    if (problem) out.deny(`${iface.path}.macAddress`, value, `macAddress ${show(value)} of interface ${show(iface.name)} ${problem}`);
  }
}

function macProblem(
  ctx: VMContext,
  iface: IfaceEntry,
  mac: string,
  network: string,
  snapshot: AdmissionSnapshot & Required<MacIndex>,
): string | undefined {
  const segment = domainOfNetwork(snapshot, network);
  const own = `${ctx.name}.${iface.name ?? ""}`;
  const taken = snapshot
    .macHolders(mac)
    .some(h => !(h.namespace === ctx.namespace && h.claim === own) && domainOfNetwork(snapshot, h.network) === segment);
  if (taken) {
    const where = segment.startsWith("ovs:") ? `on its L2 segment (${segmentText(segment)})` : `on network ${show(network)}`;
    return `is already in use ${where}; pick another MAC, or omit macAddress to get one derived from the interface's fixed address`;
  }
  const derived = derivedOnSegment(mac, segment, snapshot);
  if (derived)
    return `is the MAC vmnet-operator derives for ${derived}, an address a pool on this L2 segment hands out; pick a MAC that starts with neither 02:00: nor 0a:, or omit macAddress`;
  return undefined;
}

/**
 * A spec MAC of the form vmnet-operator derives (02:00:<IPv4> or 0a:<low 40 bits of IPv6>) for an
 * address some pool on the segment may hand out later: that NIC would then get the same MAC.
 */
function derivedOnSegment(mac: string, segment: string, snapshot: AdmissionSnapshot): string | undefined {
  const octets = mac.split(":").map(h => parseInt(h, 16));
  for (const pool of snapshot.pools()) {
    if (!domainsOfPool(snapshot, pool).has(segment)) continue;
    const cidr = parseCIDR(isRecord(pool.spec) ? pool.spec.cidr : undefined);
    if (!cidr) continue;
    if (cidr.family === 4 && octets[0] === 2 && octets[1] === 0) {
      const ip = parseIP(octets.slice(2).join("."));
      if (ip && containsIP(cidr, ip)) return ip.text;
    }
    if (cidr.family === 6 && octets[0] === 0x0a) return `an IPv6 address of ${cidr.text}`;
  }
  return undefined;
}

/**
 * A NAD of another namespace: allowed when the pool's namespaceSelector admits this namespace
 * (the pool owner's rule, checked in vm.ts), but worth saying, since the NAD's owner can change it.
 */
export function warnForeignNad(ctx: VMContext, out: Findings): void {
  for (const net of ctx.nets) {
    const ref = net.ref;
    if (!ref || "error" in ref || ref.namespace === ctx.namespace) continue;
    out.warn(
      `${net.path}.multus.networkName`,
      ref.qualified,
      `network ${show(ref.qualified)} is a NetworkAttachmentDefinition of namespace ${show(ref.namespace)}, not of this VM's namespace ${show(ctx.namespace)}: its owner controls this NIC's network (an IPPool serves it here only if its namespaceSelector selects ${show(ctx.namespace)})`,
    );
  }
}

/** vmnet.io/expose with a Service type the cluster admin did not allow (VMNET_EXPOSE_TYPES). */
export function checkExposeAllowed(ctx: VMContext, allowed: readonly string[], out: Findings): void {
  const expose = ctx.annotations.get(EXPOSE_ANNOTATION);
  if (typeof expose !== "string" || allowed.includes(expose)) return;
  if (!(EXPOSE_TYPES as readonly string[]).includes(expose)) return; // vm.ts names the valid values
  out.deny(
    annotationPath(EXPOSE_ANNOTATION),
    expose,
    `Service type ${expose} is not allowed on this cluster (allowed: ${allowed.join(", ") || "none"}); use an allowed type, or ask the cluster admin`,
  );
}
