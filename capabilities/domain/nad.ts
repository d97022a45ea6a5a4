// Admission rules for Multus NetworkAttachmentDefinitions. Pure.
import type { NetworkAttachmentDefinition } from "../api/external/multus";
import { validateConflist, validatePlugin } from "./cni-schemas";
import { Findings, ValidationResult, isRecord, ratchet, show } from "./findings";
import { describePosition, parseJson } from "./json";
import { nadPoolReadiness } from "./nad-readiness";
import { poolName } from "./pool-view";
import type { AdmissionSnapshot } from "./snapshot";

export { nadPoolReadiness } from "./nad-readiness";
export type { PoolReadiness } from "./nad-readiness";

const CONFIG = "spec.config";

/**
 * Validates a NAD's CNI config and, when an IPPool serves it, that it can carry the pool's
 * addresses. A change that breaks a network with allocated addresses is refused; otherwise a
 * network that is not pool-ready only warns. On update, problems the old NAD had only warn.
 */
export function validateNAD(
  nad: NetworkAttachmentDefinition | unknown,
  snapshot: AdmissionSnapshot,
  oldNad?: NetworkAttachmentDefinition | unknown,
): ValidationResult {
  const result = checkNAD(nad, snapshot, oldNad);
  return oldNad === undefined ? result : ratchet(result, checkNAD(oldNad, snapshot, undefined));
}

function checkNAD(nad: unknown, snapshot: AdmissionSnapshot, oldNad: unknown): ValidationResult {
  const out = new Findings();
  const config = configOf(nad);
  if (config !== undefined && config !== "") checkConfig(config, out);
  checkReadiness(nad, config, snapshot, oldNad, out);
  return out.result();
}

function checkConfig(config: unknown, out: Findings): void {
  if (typeof config !== "string") {
    out.deny(CONFIG, config, `must be a string holding the CNI configuration as JSON, not ${show(config)}`);
    return;
  }
  const parsed = parseJson(config);
  if (!parsed.ok) {
    out.deny(CONFIG, config.slice(0, 200), `is not valid JSON: ${parsed.message} at ${describePosition(parsed)}; fix the JSON there`);
    return;
  }
  const value = parsed.value;
  if (!isRecord(value)) {
    out.deny(CONFIG, value, `must be a JSON object with a CNI "type" or a "plugins" list, not ${show(value)}`);
  } else if (value.plugins !== undefined) {
    validateConflist(value, CONFIG).forEach(f => out.deny(f.field, f.value, f.message));
    const plugins = Array.isArray(value.plugins) ? value.plugins : [];
    plugins.forEach((p: unknown, i) => validatePlugin(p, `${CONFIG}.plugins[${i}]`).forEach(f => out.deny(f.field, f.value, f.message)));
  } else {
    validatePlugin(value, CONFIG).forEach(f => out.deny(f.field, f.value, f.message));
  }
}

function checkReadiness(nad: unknown, config: unknown, snapshot: AdmissionSnapshot, oldNad: unknown, out: Findings): void {
  const network = networkOf(nad);
  const pools = network ? snapshot.poolsForNetwork(network) : [];
  if (pools.length === 0) return;
  const readiness = nadPoolReadiness(config);
  if (readiness.ready) return;
  const inUse = pools.map(p => ({ name: poolName(p), count: snapshot.allocationsInPool(poolName(p)).length })).filter(p => p.count > 0);
  const wasReady = oldNad === undefined || nadPoolReadiness(configOf(oldNad)).ready;
  const served = `network ${network} is served by IPPool${pools.length > 1 ? "s" : ""} ${pools.map(p => show(poolName(p))).join(" and ")}`;
  if (inUse.length > 0 && wasReady) {
    const held = inUse.map(p => `${p.count} in ${show(p.name)}`).join(", ");
    out.deny(CONFIG, network, `${served}, whose VMs hold addresses (${held}), and this config cannot carry them: ${readiness.reason}`);
  } else {
    out.warn(CONFIG, network, `${served}, but VMs on it will not get their fixed addresses until this is fixed: ${readiness.reason}`);
  }
}

function configOf(nad: unknown): unknown {
  return isRecord(nad) && isRecord(nad.spec) ? nad.spec.config : undefined;
}

function networkOf(nad: unknown): string | undefined {
  const meta = isRecord(nad) && isRecord(nad.metadata) ? nad.metadata : {};
  const { namespace, name } = meta;
  return typeof namespace === "string" && typeof name === "string" ? `${namespace}/${name}` : undefined;
}
