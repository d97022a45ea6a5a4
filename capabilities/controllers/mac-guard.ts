// One MAC per L2 segment, on the binder's side: an address whose derived MAC another NIC on the
// claim's segment already uses (set in its VM spec, or shown by its claim) is not handed out.
// Admission refuses a spec MAC of the derived form for an address a pool on the segment hands out,
// so only a VM written while the webhook was down (or before a pool came) can have one. Pure.
import type { VirtualMachine } from "../api/external/kubevirt";
import { vmNics } from "../domain/vm-nics";

/** A NIC that uses a MAC: where (network "ns/name") and whose (VM and interface). */
export interface MacUse {
  namespace: string;
  vm: string;
  iface: string;
  network: string;
  mac: string;
}

/**
 * The form vmnet-operator derives MACs in (02:00:<IPv4>, 0a:<low 40 bits of IPv6>, ipam/mac.ts):
 * only a spec MAC of that form can equal a derived one.
 */
export function derivedForm(mac: string): boolean {
  const m = mac.toLowerCase().replace(/-/g, ":");
  return m.startsWith("02:00:") || m.startsWith("0a:");
}

/** The spec MACs of the derived form of a VM's Multus NICs. */
export function specMacUses(vm: VirtualMachine): MacUse[] {
  const namespace = vm.metadata?.namespace ?? "default";
  const name = vm.metadata?.name ?? "";
  return vmNics(vm).flatMap(n => {
    const network = n.network?.qualified;
    if (network === undefined || n.macAddress === undefined || !derivedForm(n.macAddress)) return [];
    return [{ namespace, vm: name, iface: n.name, network, mac: n.macAddress.toLowerCase().replace(/-/g, ":") }];
  });
}

/** Whether a VM has any spec MAC that a derived one could equal (the cache indexes these few VMs). */
export const hasDerivedFormMac = (vm: VirtualMachine): boolean => specMacUses(vm).length > 0;

/**
 * The first use of `mac` on the segment of `network` other than the NIC itself (`self`), or
 * undefined. `segmentOf` maps a network to its L2 segment (admission/l2.ts).
 */
export function macClash(
  mac: string,
  network: string,
  self: { namespace: string; vm: string; iface: string },
  uses: MacUse[],
  segmentOf: (network: string) => string,
): MacUse | undefined {
  const want = mac.toLowerCase();
  const segment = segmentOf(network);
  const isSelf = (u: MacUse): boolean => u.namespace === self.namespace && u.vm === self.vm && u.iface === self.iface;
  return uses.find(u => u.mac === want && !isSelf(u) && segmentOf(u.network) === segment);
}
