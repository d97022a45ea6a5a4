// Where each kind lives in the API, for building request paths.

export interface KindRef {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const k = (apiVersion: string, kind: string, plural: string, namespaced: boolean): KindRef => ({ apiVersion, kind, plural, namespaced });

export const Kinds = {
  IPPool: k("vmnet.io/v1alpha1", "IPPool", "ippools", false),
  IPClaim: k("vmnet.io/v1alpha1", "IPClaim", "ipclaims", true),
  IPAllocation: k("vmnet.io/v1alpha1", "IPAllocation", "ipallocations", false),
  VirtualMachine: k("kubevirt.io/v1", "VirtualMachine", "virtualmachines", true),
  VirtualMachineInstance: k("kubevirt.io/v1", "VirtualMachineInstance", "virtualmachineinstances", true),
  VirtualMachineInstanceMigration: k("kubevirt.io/v1", "VirtualMachineInstanceMigration", "virtualmachineinstancemigrations", true),
  NetworkAttachmentDefinition: k("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition", "network-attachment-definitions", true),
  Namespace: k("v1", "Namespace", "namespaces", false),
  Pod: k("v1", "Pod", "pods", true),
  Service: k("v1", "Service", "services", true),
  Event: k("v1", "Event", "events", true),
  ConfigMap: k("v1", "ConfigMap", "configmaps", true),
  CustomResourceDefinition: k("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", false),
  MutatingWebhookConfiguration: k(
    "admissionregistration.k8s.io/v1",
    "MutatingWebhookConfiguration",
    "mutatingwebhookconfigurations",
    false,
  ),
  ValidatingWebhookConfiguration: k(
    "admissionregistration.k8s.io/v1",
    "ValidatingWebhookConfiguration",
    "validatingwebhookconfigurations",
    false,
  ),
} as const;

export function resourcePath(kind: KindRef, namespace?: string, name?: string, subresource?: string): string {
  const base = kind.apiVersion.includes("/") ? `/apis/${kind.apiVersion}` : `/api/${kind.apiVersion}`;
  const ns = kind.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  const n = name ? `/${encodeURIComponent(name)}` : "";
  const sub = subresource && name ? `/${subresource}` : "";
  return `${base}${ns}/${kind.plural}${n}${sub}`;
}
