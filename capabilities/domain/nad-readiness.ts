// Whether a NetworkAttachmentDefinition's CNI config can carry a pool's fixed address and MAC.
// Multus passes the pod element's "ips" and "mac" as runtimeConfig only to plugins that declare
// the matching capability; static IPAM then sets the address. ovs-cni sets the MAC itself (from
// CNI_ARGS MAC=); other types chain the tuning plugin with the "mac" capability.
import { isRecord, show } from "./findings";
import { parseJson } from "./json";

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
      `CNI plugin ${show(type)} does not declare "capabilities": {"ips": true}, so Multus does not pass it the pool's address; add it`,
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
