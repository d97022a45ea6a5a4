// The VM as the validators see it: interfaces joined with networks by name, with JSON paths,
// read defensively (any field may have any type in a malformed request).
import type { VirtualMachine } from "../api/external/kubevirt";
import { Findings, isRecord } from "./findings";
import { NetworkRef, parseNetworkRef } from "./names";

/**
 * KubeVirt's interface binding keys (as BINDINGS in api/external/kubevirt.ts, kept literal here so
 * the pure rules load no client code): the five it counts, then the three discontinued in v1.3.
 */
export const BINDING_KEYS = ["bridge", "masquerade", "sriov", "passtBinding", "binding", "slirp", "passt", "macvtap"] as const;

export const TEMPLATE = "spec.template.spec";
export const INTERFACES = `${TEMPLATE}.domain.devices.interfaces`;
export const NETWORKS = `${TEMPLATE}.networks`;

export interface NetEntry {
  index: number;
  path: string;
  raw: Record<string, unknown>;
  name?: string;
  kind?: "pod" | "multus";
  /** For a Multus network: the reference as parsed (namespace defaulted to the VM's). */
  ref?: NetworkRef;
}

export interface IfaceEntry {
  index: number;
  path: string;
  raw: Record<string, unknown>;
  name?: string;
  bindings: string[];
  network?: NetEntry;
}

export interface VMContext {
  namespace: string;
  name: string;
  /** spec.template.spec as sent (an empty object when missing), for the fields not joined below. */
  spec: Record<string, unknown>;
  annotations: Map<string, unknown>;
  templateAnnotations: Map<string, unknown>;
  ifaces: IfaceEntry[];
  nets: NetEntry[];
  ifaceByName: Map<string, IfaceEntry>;
  netByName: Map<string, NetEntry>;
}

/** Reads the VM; structural problems (wrong types, missing names) are denied into `out`. */
export function vmContext(vm: VirtualMachine | unknown, out: Findings): VMContext {
  const root = isRecord(vm) ? vm : {};
  const meta = isRecord(root.metadata) ? root.metadata : {};
  const namespace = typeof meta.namespace === "string" && meta.namespace !== "" ? meta.namespace : "default";
  const name = typeof meta.name === "string" ? meta.name : "";
  const template = record(record(root.spec).template);
  const spec = record(template.spec);
  const nets = list(spec.networks, NETWORKS, out).map(([raw, index]) => netEntry(raw, index, namespace));
  const netByName = firstByName(nets);
  const ifaceList = list(record(record(spec.domain).devices).interfaces, INTERFACES, out);
  const ifaces = ifaceList.map(([raw, index]) => ifaceEntry(raw, index, netByName));
  return {
    namespace,
    name,
    spec,
    annotations: annotationMap(meta.annotations, "metadata.annotations", out),
    templateAnnotations: annotationMap(record(template.metadata).annotations, "spec.template.metadata.annotations", out),
    ifaces,
    nets,
    ifaceByName: firstByName(ifaces),
    netByName,
  };
}

function netEntry(raw: Record<string, unknown>, index: number, namespace: string): NetEntry {
  const entry: NetEntry = { index, path: `${NETWORKS}[${index}]`, raw, name: nameOf(raw) };
  if (present(raw.pod) && !present(raw.multus)) entry.kind = "pod";
  if (present(raw.multus) && !present(raw.pod)) {
    entry.kind = "multus";
    entry.ref = parseNetworkRef(record(raw.multus).networkName, namespace);
  }
  return entry;
}

function ifaceEntry(raw: Record<string, unknown>, index: number, nets: Map<string, NetEntry>): IfaceEntry {
  const name = nameOf(raw);
  return {
    index,
    path: `${INTERFACES}[${index}]`,
    raw,
    name,
    bindings: BINDING_KEYS.filter(b => present(raw[b])),
    network: name === undefined ? undefined : nets.get(name),
  };
}

/** The elements of a list field that are objects, with their index; other shapes are denied. */
function list(x: unknown, path: string, out: Findings): [Record<string, unknown>, number][] {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x)) {
    out.deny(path, x, `must be a list, not ${typeName(x)}`);
    return [];
  }
  const items: [Record<string, unknown>, number][] = [];
  x.forEach((item, i) => {
    if (!isRecord(item)) out.deny(`${path}[${i}]`, item, `must be an object with a name, not ${typeName(item)}`);
    else if (nameOf(item) === undefined) out.deny(`${path}[${i}].name`, item.name, "must be a non-empty string naming the entry");
    else items.push([item, i]);
  });
  return items;
}

function annotationMap(x: unknown, path: string, out: Findings): Map<string, unknown> {
  if (x === undefined || x === null) return new Map();
  if (!isRecord(x)) {
    out.deny(path, x, `must be a map of strings, not ${typeName(x)}`);
    return new Map();
  }
  return new Map(Object.entries(x));
}

function firstByName<T extends { name?: string }>(entries: T[]): Map<string, T> {
  const byName = new Map<string, T>();
  for (const e of entries) if (e.name !== undefined && !byName.has(e.name)) byName.set(e.name, e);
  return byName;
}

function nameOf(raw: Record<string, unknown>): string | undefined {
  return typeof raw.name === "string" && raw.name !== "" ? raw.name : undefined;
}

function record(x: unknown): Record<string, unknown> {
  return isRecord(x) ? x : {};
}

export function present(x: unknown): boolean {
  return x !== undefined && x !== null;
}

export function typeName(x: unknown): string {
  if (x === null) return "null";
  return Array.isArray(x) ? "a list" : `a ${typeof x}`;
}

/** Annotation path in the form kubectl's JSONPath uses. */
export function annotationPath(key: string): string {
  return `metadata.annotations['${key}']`;
}
