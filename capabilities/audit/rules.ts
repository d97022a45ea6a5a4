// The address rules the invariant checker needs, as one interface, so the audit can run on
// capabilities/ipam's rules while the tests run it on their independent reference model.
import { parseCIDR, parseIP } from "../ipam/address";
import { macFor } from "../ipam/mac";
import { poolLayout, PoolSpecInput, whyUnusable } from "../ipam/pool-layout";

export interface AddressRules {
  /** The family and value of an address ("/prefix" ignored), or undefined when it is none. */
  parse(text: string): { family: 4 | 6; value: bigint } | undefined;
  inCidr(address: string, cidr: string): boolean;
  sameIP(a: string, b: string): boolean;
  /** Why the pool may never hand out the address ("is the gateway"), or undefined when it may. */
  whyNot(pool: PoolSpecInput, address: string): string | undefined;
  /** The MAC a NIC with these addresses gets: from the IPv4 one when there is one. */
  mac(addresses: string[]): string | undefined;
}

function tryParse(text: string): { family: 4 | 6; value: bigint } | undefined {
  try {
    const ip = parseIP(String(text).split("/")[0]);
    return { family: ip.family, value: ip.value };
  } catch {
    return undefined;
  }
}

function inCidr(address: string, cidr: string): boolean {
  const ip = tryParse(address);
  try {
    const net = parseCIDR(cidr);
    return !!ip && ip.family === net.family && net.base <= ip.value && ip.value <= net.last;
  } catch {
    return false;
  }
}

function whyNot(pool: PoolSpecInput, address: string): string | undefined {
  const ip = tryParse(address);
  if (!ip) return "is not an address";
  try {
    return whyUnusable(poolLayout(pool), ip)?.reason;
  } catch {
    return "is in a pool whose spec is invalid";
  }
}

function mac(addresses: string[]): string | undefined {
  const parsed = addresses.map(tryParse);
  const pick = parsed.find(p => p?.family === 4) ?? parsed.find(p => p?.family === 6);
  return pick ? macFor(String(addresses[parsed.indexOf(pick)]).split("/")[0]) : undefined;
}

/** capabilities/ipam's rules: what `kubectl vmnet check` audits a cluster with. */
export const ipamRules: AddressRules = {
  parse: tryParse,
  inCidr,
  sameIP: (a, b) => {
    const x = tryParse(a);
    const y = tryParse(b);
    return !!x && !!y && x.family === y.family && x.value === y.value;
  },
  whyNot,
  mac,
};
