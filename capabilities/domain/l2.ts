// Broadcast domains: which NADs put their NICs on one L2 segment. Two NADs of CNI type "ovs" on
// the same bridge with the same VLAN tag (no tag = untagged) share one; an address or MAC must be
// unique across all of them, whichever NAD and pool a NIC came through. Pure.
import { isRecord } from "./findings";
import { parseJson } from "./json";
import { TextMemo } from "./memo";
import { pluginsOf } from "./nad-readiness";
import type { AdmissionSnapshot, IPPoolLike } from "./snapshot";

/**
 * Domains by config text: pool conflicts ask for the domain of every pool's NADs on every NIC of
 * every review, and each ask parsed the NAD's JSON. A CNI config of a NAD is a few hundred bytes.
 */
const domainMemo = new TextMemo<string | undefined>(256, 8 * 1024);

/** "ovs:br1:vlan100" for an ovs NAD, undefined when the config names no bridge we can compare. */
export function l2Domain(config: unknown): string | undefined {
  return typeof config === "string" ? domainMemo.get(config, domainOfConfig) : domainOfConfig(config);
}

function domainOfConfig(config: unknown): string | undefined {
  const parsed = typeof config === "string" ? parseJson(config) : { ok: true as const, value: config };
  if (!parsed.ok || !isRecord(parsed.value)) return undefined;
  const main = pluginsOf(parsed.value).find(p => p.type === "ovs");
  if (!main || typeof main.bridge !== "string" || main.bridge === "") return undefined;
  const vlan = typeof main.vlan === "number" ? main.vlan : 0;
  return `ovs:${main.bridge}:vlan${vlan}`;
}

/** The L2 domain of a network ("namespace/name") from its NAD, or the network itself as its own domain. */
export function domainOfNetwork(snapshot: Pick<AdmissionSnapshot, "nad">, network: string): string {
  const slash = network.indexOf("/");
  const nad = slash > 0 ? snapshot.nad(network.slice(0, slash), network.slice(slash + 1)) : undefined;
  return l2Domain(nad?.spec?.config) ?? `nad:${network}`;
}

/** The L2 domains a pool's networks reach. */
export function domainsOfPool(snapshot: Pick<AdmissionSnapshot, "nad">, pool: IPPoolLike): Set<string> {
  const networks =
    isRecord(pool.spec) && Array.isArray(pool.spec.networks) ? pool.spec.networks.filter((n): n is string => typeof n === "string") : [];
  return new Set(networks.map(n => domainOfNetwork(snapshot, n)));
}

/**
 * Networks on which an address must come from vmnet-operator: those an IPPool serves, and any
 * other NAD on the same L2 domain as one (a tenant's own static NAD on the pool's bridge and VLAN
 * would otherwise let it set any address there).
 */
export class GuardedNetworks {
  readonly #served = new Set<string>();
  readonly #domains = new Set<string>();

  constructor(private readonly snapshot: Pick<AdmissionSnapshot, "nad" | "pools">) {
    for (const pool of snapshot.pools()) {
      if (isRecord(pool.metadata) && pool.metadata.deletionTimestamp) continue;
      const networks = isRecord(pool.spec) && Array.isArray(pool.spec.networks) ? pool.spec.networks : [];
      for (const n of networks) if (typeof n === "string") this.#served.add(n);
      for (const d of domainsOfPool(snapshot, pool)) this.#domains.add(d);
    }
  }

  /** "pool" when an IPPool serves the network, "l2" when it shares an L2 domain with one, else undefined. */
  kind(network: string): "pool" | "l2" | undefined {
    if (this.#served.has(network)) return "pool";
    return this.#domains.has(domainOfNetwork(this.snapshot, network)) ? "l2" : undefined;
  }

  served(): ReadonlySet<string> {
    return this.#served;
  }
}
