// Kubernetes names, Multus network references and MAC addresses.

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A DNS-1123 label (namespace names): lowercase alphanumerics and '-', at most 63 characters. */
export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && LABEL.test(s);
}

/** A DNS-1123 subdomain (object names): labels joined by '.', at most 253 characters. */
export function isDns1123Subdomain(s: string): boolean {
  return s.length <= 253 && SUBDOMAIN.test(s);
}

/**
 * "name" or "namespace/name" as written in a VM or a pod, made absolute against the namespace of
 * the object that names it. No validation (parseNetworkRef checks the names): the one way every
 * layer qualifies a network.
 */
export function qualifyNetwork(ref: string, defaultNamespace: string): string {
  return ref.includes("/") ? ref : `${defaultNamespace}/${ref}`;
}

export type NetworkRef = { namespace: string; name: string; qualified: string } | { error: string };

/**
 * Parses a Multus network reference, "name" or "namespace/name", made absolute against the
 * namespace of the object that names it.
 */
export function parseNetworkRef(ref: unknown, defaultNamespace: string): NetworkRef {
  if (typeof ref !== "string" || ref === "") return { error: 'must be a non-empty string, "name" or "namespace/name"' };
  const parts = ref.split("/");
  if (parts.length > 2) return { error: 'has more than one "/"; write "name" or "namespace/name"' };
  const [namespace, name] = parts.length === 2 ? parts : [defaultNamespace, parts[0]];
  if (!isDns1123Label(namespace)) {
    return { error: `has namespace "${namespace}", which is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)` };
  }
  if (!isDns1123Subdomain(name)) {
    return { error: `has name "${name}", which is not a DNS-1123 name (lowercase letters, digits, '-' and '.', at most 253)` };
  }
  return { namespace, name, qualified: `${namespace}/${name}` };
}

export type MacParse = { mac: string; octets: number[] } | { error: string };

const MAC_FORMS = [
  /^([0-9a-fA-F]{2})[:]([0-9a-fA-F]{2})[:]([0-9a-fA-F]{2})[:]([0-9a-fA-F]{2})[:]([0-9a-fA-F]{2})[:]([0-9a-fA-F]{2})$/,
  /^([0-9a-fA-F]{2})-([0-9a-fA-F]{2})-([0-9a-fA-F]{2})-([0-9a-fA-F]{2})-([0-9a-fA-F]{2})-([0-9a-fA-F]{2})$/,
  // The dotted form Go's net.ParseMAC (so KubeVirt) also reads: aabb.ccdd.eeff.
  /^([0-9a-fA-F]{2})([0-9a-fA-F]{2})\.([0-9a-fA-F]{2})([0-9a-fA-F]{2})\.([0-9a-fA-F]{2})([0-9a-fA-F]{2})$/,
];

/** Parses a 48-bit MAC (aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff) that may be given to a NIC. */
export function parseUnicastMac(text: unknown): MacParse {
  const m = typeof text === "string" ? MAC_FORMS.map(r => r.exec(text)).find(x => x !== null) : undefined;
  if (!m) return { error: "is not a MAC address; write six hex octets such as 02:00:0a:64:00:17" };
  const octets = m.slice(1, 7).map(h => parseInt(h, 16));
  const mac = octets.map(o => o.toString(16).padStart(2, "0")).join(":");
  if (octets.every(o => o === 0)) return { error: "is the all-zero MAC; use a unicast MAC such as 02:00:0a:64:00:17" };
  if ((octets[0] & 1) === 1) {
    return { error: "is a multicast MAC (lowest bit of the first octet set); use a unicast MAC such as 02:00:0a:64:00:17" };
  }
  return { mac, octets };
}
