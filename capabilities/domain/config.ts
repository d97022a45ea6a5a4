// Operator settings that admission rules depend on, read once from the environment.
import { EXPOSE_TYPES } from "./keys";

/** KubeVirt's virt-controller, which creates virt-launcher pods. */
export const DEFAULT_LAUNCHER_IDENTITY = "system:serviceaccount:kubevirt:kubevirt-controller";

/**
 * The user name (admission request userInfo.username) that creates virt-launcher pods: only its
 * pods receive, or may carry, addresses on pool-backed networks. VMNET_LAUNCHER_IDENTITY.
 */
export function launcherIdentity(env: NodeJS.ProcessEnv = process.env): string {
  return env.VMNET_LAUNCHER_IDENTITY?.trim() || DEFAULT_LAUNCHER_IDENTITY;
}

let exposeMemo: { raw: string | undefined; types: readonly string[] } = { raw: undefined, types: Object.freeze([...EXPOSE_TYPES]) };

/**
 * Service types a cluster admin allows for vmnet.io/expose (VMNET_EXPOSE_TYPES, comma-separated;
 * default all three). Unknown names are ignored, so a typo narrows rather than widens.
 */
export function allowedExposeTypes(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const raw = env.VMNET_EXPOSE_TYPES;
  // Read on every VM review: the list is kept for the last setting seen (frozen, shared).
  if (raw === exposeMemo.raw) return exposeMemo.types;
  const types = Object.freeze(exposeTypesOf(raw));
  exposeMemo = { raw, types };
  return types;
}

function exposeTypesOf(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === "") return [...EXPOSE_TYPES];
  const wanted = new Set(raw.split(",").map(s => s.trim()));
  return EXPOSE_TYPES.filter(t => wanted.has(t));
}
