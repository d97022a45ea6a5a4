// Whether a NetworkAttachmentDefinition's CNI config can carry a pool's fixed address and MAC.
// Multus (v4.2.3, read from its source and seen on the node) passes the pod element's "ips" and
// "mac" as runtimeConfig only to plugins that declare the matching capability, and always as
// CNI_ARGS IP= and MAC= (a path Multus marks deprecated); static IPAM reads both. The rule asks
// for the capability so the address does not hang on the deprecated path. ovs-cni sets the MAC
// itself (v0.39.0 from CNI_ARGS MAC=, newer ones also from args.cni.mac, which the operator fills
// through the element's cni-args); other types chain the tuning plugin with the "mac" capability.
import { isRecord, show } from "./findings";
import { parseJson } from "./json";
import { parseIP } from "./net";

export interface PoolReadiness {
  ready: boolean;
  reason?: string;
}

/** CNI types that set the interface MAC themselves. */
const MAC_SETTING_TYPES = new Set(["ovs"]);

/** Checks a NAD's spec.config (the JSON string, or its parsed value). */
export function nadPoolReadiness(config: unknown): PoolReadiness {
  if (config === undefined || config === null || config === "") {
    return notReady("spec.config is empty, so the CNI configuration lives on the nodes where it cannot be checked; put it in spec.config");
  }
  const value = typeof config === "string" ? parseJson(config) : { ok: true as const, value: config };
  if (!value.ok || !isRecord(value.value)) return notReady("spec.config is not a JSON object");
  const plugins = pluginsOf(value.value);
  const main = plugins.find(p => p.ipam !== undefined) ?? plugins[0];
  if (!main) return notReady('spec.config has no plugin; give it a "type" or a "plugins" list');
  return checkMain(main, plugins);
}

function checkMain(main: Record<string, unknown>, plugins: Record<string, unknown>[]): PoolReadiness {
  const type = typeof main.type === "string" ? main.type : "(no type)";
  const ipamType = isRecord(main.ipam) ? main.ipam.type : undefined;
  if (ipamType !== "static") {
    return notReady(
      `the IPAM of CNI plugin ${show(type)} is ${show(ipamType ?? "not set")}; set "ipam": {"type": "static"} so the plugin applies the pool's address`,
    );
  }
  if (!isRecord(main.capabilities) || main.capabilities.ips !== true) {
    return notReady(
      `CNI plugin ${show(type)} does not declare "capabilities": {"ips": true}, so Multus passes it the pool's address only as CNI_ARGS IP=, a path Multus marks deprecated, and not as runtimeConfig; add "capabilities": {"ips": true}`,
    );
  }
  if (MAC_SETTING_TYPES.has(type)) return { ready: true };
  const tuning = plugins.some(p => p.type === "tuning" && isRecord(p.capabilities) && p.capabilities.mac === true);
  if (tuning) return { ready: true };
  return notReady(
    `CNI type ${show(type)} does not set the pool's MAC itself; chain {"type": "tuning", "capabilities": {"mac": true}} after it in a "plugins" list`,
  );
}

/** The plugins of a config: its "plugins" list (conflist) or the config itself. */
export function pluginsOf(config: Record<string, unknown>): Record<string, unknown>[] {
  if (config.plugins === undefined) return [config];
  return Array.isArray(config.plugins) ? config.plugins.filter(isRecord) : [];
}

function notReady(reason: string): PoolReadiness {
  return { ready: false, reason };
}

/**
 * Whether a NAD's static IPAM "routes" send something through `gateway` (an entry whose "gw" is
 * it): Multus passes static IPAM no gateway of its own, so such an entry is the only route
 * through a pool's gateway that a NAD gives.
 */
export function nadRoutesVia(config: unknown, gateway: string): boolean {
  const gw = parseIP(gateway);
  const value = typeof config === "string" ? parseJson(config) : { ok: true as const, value: config };
  if (!gw || !value.ok || !isRecord(value.value)) return false;
  return pluginsOf(value.value).some(p => {
    const routes = isRecord(p.ipam) && Array.isArray(p.ipam.routes) ? p.ipam.routes : [];
    return routes.some(r => isRecord(r) && parseIP(r.gw)?.value === gw.value && parseIP(r.gw)?.family === gw.family);
  });
}
