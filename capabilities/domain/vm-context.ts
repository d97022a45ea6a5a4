// The VM as the validators see it: its NICs (vm-nics.ts) indexed by name, with its annotations,
// read defensively (any field may have any type in a malformed request).
import type { VirtualMachine } from "../api/external/kubevirt";
import { Findings, isRecord, typeName } from "./findings";
import { IfaceEntry, NetEntry, firstByName, readNics, vmNamespace } from "./vm-nics";

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
  const root = record(vm);
  const meta = record(root.metadata);
  const namespace = vmNamespace(meta);
  const name = typeof meta.name === "string" ? meta.name : "";
  const template = record(record(root.spec).template);
  const spec = record(template.spec);
  const { ifaces, nets } = readNics(spec, namespace, out);
  return {
    namespace,
    name,
    spec,
    annotations: annotationMap(root.metadata, "metadata.annotations", out),
    templateAnnotations: annotationMap(template.metadata, "spec.template.metadata.annotations", out),
    ifaces,
    nets,
    ifaceByName: firstByName(ifaces),
    netByName: firstByName(nets),
  };
}

/** The annotations of a metadata object; a value that is no map is denied. */
function annotationMap(metadata: unknown, path: string, out: Findings): Map<string, unknown> {
  const x = record(metadata).annotations;
  if (x === undefined || x === null) return new Map();
  if (!isRecord(x)) {
    out.deny(path, x, `must be a map of strings, not ${typeName(x)}`);
    return new Map();
  }
  return new Map(Object.entries(x));
}

function record(x: unknown): Record<string, unknown> {
  return isRecord(x) ? x : {};
}

/** Annotation path in the form kubectl's JSONPath uses. */
export function annotationPath(key: string): string {
  return `metadata.annotations['${key}']`;
}
