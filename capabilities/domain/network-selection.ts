// Reads a pod's Multus network selection annotations the way Multus's Go decoder reads them
// (multus-cni pkg/k8sclient parsePodNetworkAnnotation, types.NetworkSelectionElement), or
// refuses what the two could read differently. Pure.
//
// Where Go's encoding/json and JSON.parse differ: Go matches object keys to struct fields case-
// insensitively (and folds some non-ASCII letters, such as U+017F to "S"), and with duplicate keys
// the last one wins after that matching, so {"name":"decoy","Name":"vlan100"} is "vlan100" to
// Multus and "decoy" to a JavaScript reader. Rather than re-implement Go's folding, every element
// key must be plain: ASCII, spelled exactly as Multus's JSON tag when it names a field, and
// present once. Unknown keys are ignored by Go and by us.
import { isRecord, show } from "./findings";
import { parseJson, stringEnd } from "./json";

export const NETWORKS_ANNOTATION = "k8s.v1.cni.cncf.io/networks";
export const DEFAULT_NETWORK_ANNOTATION = "v1.multus-cni.io/default-network";
export const SELECTION_ANNOTATIONS = [NETWORKS_ANNOTATION, DEFAULT_NETWORK_ANNOTATION] as const;

/** Multus's JSON tags of NetworkSelectionElement (all versions since 3.2). */
export const ELEMENT_KEYS = [
  "name",
  "namespace",
  "ips",
  "mac",
  "infiniband-guid",
  "interface",
  "interfaceRequest",
  "portMappings",
  "bandwidth",
  "deviceID",
  "cni-args",
  "default-route",
  "ipam-claim-reference",
] as const;

/**
 * Keys that give the pod an address or MAC: the static IPAM plugin takes `ips` and `mac` as
 * runtime config and `cni-args` as args.cni (which may carry ips and mac again); an IPAMClaim
 * reference or an InfiniBand GUID set the address by other means.
 */
export const ADDRESS_KEYS = ["ips", "mac", "cni-args", "infiniband-guid", "ipam-claim-reference"] as const;

export interface SelectionElement {
  /** Position in the annotation's list. */
  index: number;
  name: string;
  /** The element's namespace, or the pod's when the element has none (as Multus defaults it). */
  namespace: string;
  /** "namespace/name". */
  network: string;
  interface?: string;
  /** Address-setting keys the element carries (see ADDRESS_KEYS). */
  addressKeys: string[];
  /** The element as JSON.parse read it (equal to Go's reading once the checks passed). */
  raw: Record<string, unknown>;
}

export type SelectionParse = { ok: true; elements: SelectionElement[]; json: boolean } | { ok: false; error: string };

const FOLDED = new Map<string, string>(ELEMENT_KEYS.map(k => [k.toLowerCase(), k]));
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const EXAMPLE = '[{"name": "vlan100", "namespace": "tenant-a", "interface": "net1"}]';

/** Decodes one selection annotation's value for a pod in `podNamespace`. */
export function decodeNetworkSelection(value: unknown, podNamespace: string): SelectionParse {
  if (typeof value !== "string") return { ok: false, error: "is not a string" };
  if (value === "") return { ok: true, elements: [], json: false };
  // Multus picks the JSON reading as soon as any of [ { " appears anywhere, not only in front.
  return /[[{"]/.test(value) ? decodeJson(value, podNamespace) : decodeShortForm(value, podNamespace);
}

function decodeJson(text: string, podNamespace: string): SelectionParse {
  const json = parseJson(text);
  if (!json.ok) return { ok: false, error: `is not valid JSON (${json.message} at offset ${json.position}); write it as ${EXAMPLE}` };
  if (json.value === null) return { ok: true, elements: [], json: true };
  if (!Array.isArray(json.value))
    return { ok: false, error: `is JSON but not a list of network selection elements; write it as ${EXAMPLE}` };
  const keyLists = elementKeyLists(text);
  const elements: SelectionElement[] = [];
  for (const [index, raw] of json.value.entries()) {
    if (!isRecord(raw))
      return { ok: false, error: `element ${index} is not an object; write each element as {"name": ..., "namespace": ...}` };
    const problem = keyProblem(keyLists[index] ?? [], index);
    if (problem) return { ok: false, error: problem };
    const el = element(raw, index, podNamespace);
    if ("error" in el) return { ok: false, error: el.error };
    elements.push(el);
  }
  return { ok: true, elements, json: true };
}

/** Why an element's keys could be read differently by Go, or undefined when they are plain. */
function keyProblem(keys: string[], index: number): string | undefined {
  const seen = new Set<string>();
  for (const key of keys) {
    if (!/^[\x20-\x7e]*$/.test(key))
      return `element ${index} has key ${show(key)} with characters outside printable ASCII; Multus matches keys case-insensitively (with Unicode folding), so write keys exactly as ${ELEMENT_KEYS.slice(0, 4).join(", ")}, ...`;
    const canonical = FOLDED.get(key.toLowerCase());
    if (canonical !== undefined && canonical !== key)
      return `element ${index} has key ${show(key)}, which Multus reads as ${show(canonical)}; write it exactly as ${show(canonical)}`;
    const folded = key.toLowerCase();
    if (seen.has(folded))
      return `element ${index} has key ${show(canonical ?? key)} more than once; Multus keeps the last one, so write each key once`;
    seen.add(folded);
  }
  return undefined;
}

function element(raw: Record<string, unknown>, index: number, podNamespace: string): SelectionElement | { error: string } {
  const { name, namespace } = raw;
  if (typeof name !== "string" || name === "")
    return { error: `element ${index} has no "name" string; name the NetworkAttachmentDefinition` };
  if (namespace !== undefined && typeof namespace !== "string") return { error: `element ${index} has a "namespace" that is not a string` };
  const ns = namespace ? namespace : podNamespace;
  const iface =
    typeof raw.interface === "string" && raw.interface !== ""
      ? raw.interface
      : typeof raw.interfaceRequest === "string"
        ? raw.interfaceRequest
        : undefined;
  const addressKeys = ADDRESS_KEYS.filter(k => raw[k] !== undefined && raw[k] !== null);
  return { index, name, namespace: ns, network: `${ns}/${name}`, ...(iface ? { interface: iface } : {}), addressKeys, raw };
}

/** The comma-separated "namespace/name@interface" form, read as Multus's parsePodNetworkObjectName. */
function decodeShortForm(text: string, podNamespace: string): SelectionParse {
  const elements: SelectionElement[] = [];
  for (const [index, item] of text.split(",").entries()) {
    const el = shortFormElement(item.trim(), index, podNamespace);
    if ("error" in el) return { ok: false, error: el.error };
    elements.push(el);
  }
  return { ok: true, elements, json: false };
}

/** One trimmed item of the short form. */
function shortFormElement(item: string, index: number, podNamespace: string): SelectionElement | { error: string } {
  const slash = item.split("/");
  if (slash.length > 2) return { error: `element ${show(item)} has more than one "/"; write "namespace/name@interface"` };
  const ns = slash.length === 2 ? slash[0].trim() : "";
  const at = slash[slash.length - 1].split("@");
  if (at.length > 2) return { error: `element ${show(item)} has more than one "@"; write "namespace/name@interface"` };
  const name = at[0].trim();
  const iface = at.length === 2 ? at[1].trim() : "";
  const bad = [ns, name].find(part => part !== "" && !DNS_LABEL.test(part));
  if (bad !== undefined) return { error: `element ${show(item)}: ${show(bad)} is not a lower-case DNS label` };
  if (name === "") return { error: `element ${show(item)} names no network` };
  const namespace = ns || podNamespace;
  const ifaceField = iface ? { interface: iface } : {};
  return {
    index,
    name,
    namespace,
    network: `${namespace}/${name}`,
    ...ifaceField,
    addressKeys: [],
    raw: { name, ...(ns ? { namespace: ns } : {}), ...ifaceField },
  };
}

/**
 * For valid JSON text whose top level is an array: the keys of each element object, in order and
 * with duplicates (JSON.parse keeps only the last of duplicates, and Go folds case before it does).
 * Iterative, so nesting depth costs no stack. Lists line up with the elements up to the first
 * element that is not an object (the caller refuses that one).
 */
export function elementKeyLists(text: string): string[][] {
  const scan: KeyScan = { lists: [], stack: [], expectKey: false };
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') i = scanString(text, i, scan);
    else scanPunctuation(text[i], scan);
  }
  return scan.lists;
}

/** Where elementKeyLists is: the key lists so far, the open brackets, whether a key comes next. */
interface KeyScan {
  lists: string[][];
  stack: string[];
  expectKey: boolean;
}

/** Reads the string starting at `start` (a key when an element object expects one); returns its closing quote. */
function scanString(text: string, start: number, scan: KeyScan): number {
  const end = stringEnd(text, start);
  const inElement = scan.stack.length === 2 && scan.stack[0] === "[" && scan.stack[1] === "{";
  if (scan.expectKey && inElement) scan.lists[scan.lists.length - 1].push(JSON.parse(text.slice(start, end + 1)) as string);
  scan.expectKey = false;
  return end;
}

function scanPunctuation(c: string, scan: KeyScan): void {
  if (c === "{" || c === "[") {
    scan.stack.push(c);
    if (c === "{" && scan.stack.length === 2 && scan.stack[0] === "[") scan.lists.push([]);
    scan.expectKey = c === "{";
  } else if (c === "}" || c === "]") {
    scan.stack.pop();
  } else if (c === ",") {
    scan.expectKey = scan.stack[scan.stack.length - 1] === "{";
  }
}
