// Thin Pepr adapters: run a pure rule against the runtime's in-memory view of the cluster (read
// through the admission port, domain/admission-port.ts) and turn its findings into Approve/Deny
// with warnings. No API call on the validation path.
import type { PeprMutateRequest, PeprValidateRequest } from "pepr";
import { kind as k8s } from "kubernetes-fluent-client";
import type { IPPool } from "../api/ippool-v1alpha1";
import type { VirtualMachine } from "../api/external/kubevirt";
import type { AdmissionPort, AdmissionView } from "../domain/admission-port";
import { NETWORKS_ANNOTATION, NetworkAttachmentDefinition } from "../api/external/multus";
import { logger } from "../log";
import { webhookDuration } from "../metrics";
import { formatFinding, objectRef, ValidationResult } from "../domain/findings";
import { validatePool, validatePoolDelete } from "../domain/ippool";
import { allowedExposeTypes, launcherIdentity } from "../domain/config";
import { GuardedNetworks } from "../domain/l2";
import { ClaimLike, parseElements, renderLauncherNetworks, vmNameOfPod } from "../domain/launcher-pod";
import { SELECTION_ANNOTATIONS } from "../domain/network-selection";
import { checkPodNetworks, selectionChanged } from "../domain/pod-networks";
import { validateNAD } from "../domain/nad";
import { validateVM } from "../domain/vm";
import { boundCondition } from "../domain/claims";

type ValidateResponse = ReturnType<PeprValidateRequest<never>["Approve"]>;
// What the handlers use of Pepr's request objects: also what the front server's direct path
// (webhook-server/dispatch.ts) gives them, without Pepr's deep copy.
type ValidateReq<T extends object> = Pick<PeprValidateRequest<T>, "Raw" | "OldResource" | "Request" | "Approve" | "Deny">;
type MutateReq<T extends object> = Pick<PeprMutateRequest<T>, "Raw" | "OldResource" | "Request" | "SetAnnotation">;
const log = logger("admission");

/**
 * Wraps a handler so its latency lands in vmnet_webhook_duration_seconds under its name. The
 * labelled child is looked up once: prom-client hashes the label set on every startTimer otherwise.
 */
function measured<A, R>(name: string, fn: (req: A) => Promise<R>): (req: A) => Promise<R> {
  const histogram = webhookDuration.labels({ handler: name });
  return async req => {
    const end = histogram.startTimer();
    try {
      return await fn(req);
    } finally {
      end();
    }
  };
}

/** Time the on-the-spot bind may take, inside the API server's 10 s webhook timeout. */
const BIND_BUDGET_MS = Number(process.env.VMNET_BIND_BUDGET_MS ?? 7000);

function respond<T>(req: ValidateReq<T & object>, kind: string, result: ValidationResult): ValidateResponse {
  const ref = objectRef(req.Raw);
  const warnings = result.warnings.map(f => formatFinding(kind, ref, f));
  if (!result.denials.length) return req.Approve(warnings.length ? warnings : undefined);
  const message = result.denials.map(f => formatFinding(kind, ref, f)).join("; ");
  return req.Deny(message, 422, warnings.length ? warnings : undefined);
}

async function validateVirtualMachine(port: AdmissionPort, req: ValidateReq<VirtualMachine>): Promise<ValidateResponse> {
  const view = await port.view();
  return respond(req, "VirtualMachine", validateVM(req.Raw, view, req.OldResource, { exposeTypes: allowedExposeTypes() }));
}

async function validateIPPool(port: AdmissionPort, req: ValidateReq<IPPool>): Promise<ValidateResponse> {
  const view = await port.view();
  if (req.Request.operation === "DELETE") return respond(req, "IPPool", validatePoolDelete(req.OldResource ?? req.Raw, view));
  return respond(req, "IPPool", validatePool(req.Raw, view, req.OldResource));
}

async function validateNetworkAttachment(port: AdmissionPort, req: ValidateReq<NetworkAttachmentDefinition>): Promise<ValidateResponse> {
  const view = await port.view();
  return respond(req, "NetworkAttachmentDefinition", validateNAD(req.Raw, view, req.OldResource));
}

/**
 * Puts each pool-backed NIC's fixed addresses and MAC on the launcher pod's networks annotation.
 * Only for pods the launcher identity creates (or whose selection it changes): a label or an
 * ownerReference naming someone's VM is not enough, anyone can write those. When the VM's claims
 * are not bound yet (a burst of new VMs), binds them on the spot through the same allocator,
 * within the webhook's time budget. What it cannot bind, the validating check below refuses with
 * a message (a Pepr mutation can only fail without one).
 */
async function mutateLauncherPod(port: AdmissionPort, req: MutateReq<k8s.Pod>): Promise<void> {
  if (req.Request.userInfo?.username !== launcherIdentity()) return;
  if (!selectionChanged({ operation: req.Request.operation, object: req.Raw, oldObject: req.OldResource })) return;
  const target = launcherTarget(req.Raw, req.Request.namespace);
  if (!target) return;
  const view = await port.view();
  let rendered = renderFor(view, target);
  if (rendered.missing.length || hasUnservedNetwork(view, target)) {
    // A pool applied moments ago may not be in the cache yet: never let that admit a pod bare.
    await port.refreshPools();
    rendered = renderFor(view, target);
  }
  if (rendered.missing.length && !req.Request.dryRun) {
    await bindOnTheSpot(port, target.ns, target.vm);
    rendered = renderFor(view, target);
  }
  if (rendered.changed) req.SetAnnotation(NETWORKS_ANNOTATION, rendered.value);
}

/**
 * Runs after the mutation on every pod whose Multus selection annotations may set an address (the
 * webhook's matchConditions): refuses addresses on pool-backed networks except on the launcher
 * identity's pods, and there anything but the VM's own bound claims.
 */
async function validatePod(port: AdmissionPort, req: ValidateReq<k8s.Pod>): Promise<ValidateResponse> {
  const view = await port.view();
  const podReq = podRequest(req);
  let verdict = checkPodNetworks(podReq, launcherIdentity(), new GuardedNetworks(view));
  if (verdict.kind === "allow" && carriesAddresses(req.Raw)) {
    // A pool applied moments ago may not be in the cache yet: look again before letting an address through.
    await port.refreshPools();
    verdict = checkPodNetworks(podReq, launcherIdentity(), new GuardedNetworks(view));
  }
  if (verdict.kind === "deny") return req.Deny(verdict.message, 422);
  if (verdict.kind === "allow") return req.Approve(verdict.warnings.length ? verdict.warnings : undefined);
  return validateLauncherAddresses(req, view, {
    ns: podReq.namespace,
    vm: verdict.vm,
    pod: podReq.pod,
    annotation: String(req.Raw.metadata?.annotations?.[NETWORKS_ANNOTATION] ?? ""),
  });
}

/** The parts of a Pod admission request the pod rules read. */
function podRequest(req: ValidateReq<k8s.Pod>): Parameters<typeof checkPodNetworks>[0] & { namespace: string; pod: string } {
  return {
    operation: req.Request.operation,
    namespace: (req.Raw.metadata?.namespace ?? req.Request.namespace) as string,
    pod: req.Raw.metadata?.name ?? `${req.Raw.metadata?.generateName ?? ""}*`,
    username: req.Request.userInfo?.username ?? "",
    object: req.Raw,
    oldObject: req.OldResource,
  };
}

/** A launcher pod's pool-backed elements carry exactly its VM's bound claims. */
function validateLauncherAddresses(req: ValidateReq<k8s.Pod>, view: View, target: LauncherTarget): ValidateResponse {
  const rendered = renderFor(view, target);
  const field = `metadata.annotations["${NETWORKS_ANNOTATION}"]`;
  if (rendered.error) return req.Deny(`Pod ${target.ns}/${target.pod}: ${field}: ${rendered.error}`, 422);
  if (!rendered.missing.length && !rendered.changed) return req.Approve();
  const why = rendered.missing.map(n => `${n} (${unboundReason(view, target.ns, target.vm, n)})`).join("; ");
  return req.Deny(
    `Pod ${target.ns}/${target.pod} of VirtualMachine ${target.vm}: ${field}: ${why ? `no bound address for network ${why}` : "carries addresses other than its VM's IPClaims hold"}; ` +
      `it is admitted once the VM's IPClaims are Bound: kubectl get ipclaims -n ${target.ns} -l vmnet.io/vm=${target.vm}`,
    422,
  );
}

/** Some selection element sets an address-carrying key (cheap pre-check on the raw text). */
function carriesAddresses(pod: k8s.Pod): boolean {
  const annotations = pod.metadata?.annotations ?? {};
  return SELECTION_ANNOTATIONS.some(k => /"(ips|mac|cni-args|infiniband-guid|ipam-claim-reference)"/i.test(annotations[k] ?? ""));
}

interface LauncherTarget {
  ns: string;
  vm: string;
  pod: string;
  annotation: string;
}

function launcherTarget(pod: k8s.Pod, requestNamespace: string | undefined): LauncherTarget | undefined {
  const vm = vmNameOfPod(pod);
  const annotation = pod.metadata?.annotations?.[NETWORKS_ANNOTATION];
  if (!vm || !annotation) return undefined;
  const ns = (pod.metadata?.namespace ?? requestNamespace) as string;
  return { ns, vm, annotation, pod: pod.metadata?.name ?? `${pod.metadata?.generateName ?? ""}*` };
}

/** Some element's network is served by no pool we know of. */
function hasUnservedNetwork(view: View, t: LauncherTarget): boolean {
  const parsed = parseElements(t.annotation);
  if ("error" in parsed) return false;
  const served = new Set(view.pools().flatMap(p => p.spec?.networks ?? []));
  return parsed.elements.some(e => {
    const el = e as { name?: string; namespace?: string };
    return typeof el.name === "string" && !served.has(`${el.namespace || t.ns}/${el.name}`);
  });
}

function renderFor(view: View, t: LauncherTarget): ReturnType<typeof renderLauncherNetworks> {
  const poolBacked = new Set(view.pools().flatMap(p => p.spec?.networks ?? []));
  return renderLauncherNetworks(t.annotation, t.ns, claimsOf(view, t.ns, t.vm), poolBacked, defaultRoutes(view));
}

/** Pool name to gateway, for the pools whose gateway is their NICs' default route (spec.defaultRoute). */
function defaultRoutes(view: View): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of view.pools())
    if (p.spec?.defaultRoute === true && p.spec.gateway && p.metadata?.name) out.set(p.metadata.name, p.spec.gateway);
  return out;
}

async function bindOnTheSpot(port: AdmissionPort, ns: string, vmName: string): Promise<void> {
  const budget = new Promise<void>(resolve => setTimeout(resolve, BIND_BUDGET_MS).unref());
  await Promise.race([port.bindNow(ns, vmName), budget]).catch(err =>
    log.warn(`on-the-spot bind of ${ns}/${vmName} failed: ${String(err)}`),
  );
}

type View = AdmissionView;

function claimsOf(view: View, ns: string, vmName: string): ClaimLike[] {
  return view.claimsOfVm(ns, vmName);
}

function unboundReason(view: View, ns: string, vmName: string, network: string): string {
  const claim = view.claimsOfVm(ns, vmName).find(c => c.spec?.network === network);
  const cond = boundCondition(claim);
  return cond ? `${cond.reason}: ${cond.message}` : "no IPClaim yet";
}

/** The handlers, reading the cluster through `port` (handed in by pepr.ts). */
export function admissionHandlers(port: AdmissionPort): {
  validateVirtualMachine: (req: PeprValidateRequest<VirtualMachine>) => Promise<ValidateResponse>;
  validateIPPool: (req: PeprValidateRequest<IPPool>) => Promise<ValidateResponse>;
  validateNetworkAttachment: (req: PeprValidateRequest<NetworkAttachmentDefinition>) => Promise<ValidateResponse>;
  mutateLauncherPod: (req: PeprMutateRequest<k8s.Pod>) => Promise<void>;
  validatePod: (req: PeprValidateRequest<k8s.Pod>) => Promise<ValidateResponse>;
} {
  return {
    validateVirtualMachine: measured("validateVirtualMachine", req => validateVirtualMachine(port, req)),
    validateIPPool: measured("validateIPPool", req => validateIPPool(port, req)),
    validateNetworkAttachment: measured("validateNetworkAttachment", req => validateNetworkAttachment(port, req)),
    mutateLauncherPod: measured("mutateLauncherPod", req => mutateLauncherPod(port, req)),
    validatePod: measured("validatePod", req => validatePod(port, req)),
  };
}
