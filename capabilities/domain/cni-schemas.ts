// JSON Schemas of the CNI plugin configs vmnet-operator cares about, compiled once at load.
import Ajv, { ErrorObject, ValidateFunction } from "ajv";
import { Finding, show } from "./findings";

const ajv = new Ajv({ allErrors: true, $data: true, verbose: true, strict: true, strictRequired: false });
ajv.addVocabulary(["x-hint"]);

const vlanId = { type: "integer", minimum: 0, maximum: 4094, "x-hint": "a VLAN ID is an integer from 0 to 4094" };
const mtu = { type: "integer", minimum: 576, maximum: 65535, "x-hint": "the MTU is an integer from 576 to 65535" };
const str = { type: "string" };
const bool = { type: "boolean" };

const trunk = {
  type: "array",
  "x-hint": 'write a list such as [{"id": 42}, {"minID": 100, "maxID": 200}]',
  items: {
    type: "object",
    properties: {
      id: vlanId,
      minID: vlanId,
      maxID: { ...vlanId, allOf: [{ minimum: { $data: "1/minID" }, "x-hint": "maxID must not be below minID" }] },
    },
    anyOf: [{ required: ["id"] }, { required: ["minID", "maxID"] }],
    "x-hint": 'each entry is {"id": 42} or {"minID": 100, "maxID": 200}',
  },
};

const ipam = {
  type: "object",
  "x-hint": 'write an object such as {"type": "static"}',
  properties: { type: { type: "string", minLength: 1 } },
  if: { properties: { type: { const: "static" } }, required: ["type"] },
  then: {
    properties: {
      addresses: {
        type: "array",
        items: { type: "object", required: ["address"], properties: { address: str, gateway: str } },
        "x-hint": 'write a list such as [{"address": "10.100.0.10/24"}], or leave it out for pool-backed networks',
      },
    },
  },
};

function plugin(extra: { required?: string[]; properties?: Record<string, unknown>; if?: object; then?: object }): object {
  return {
    type: "object",
    required: ["type", ...(extra.required ?? [])],
    ...(extra.if ? { if: extra.if, then: extra.then } : {}),
    properties: {
      type: { type: "string", minLength: 1, "x-hint": 'name the CNI plugin, such as "ovs"' },
      cniVersion: str,
      name: str,
      capabilities: { type: "object", additionalProperties: bool, "x-hint": 'write an object of booleans such as {"ips": true}' },
      ipam,
      ...extra.properties,
    },
  };
}

const schemas: Record<string, object> = {
  // ovs-cni finds the bridge itself from deviceID (hardware offload) or from an OVN port (br-int),
  // so bridge is required only without them. ovnPort in the config's args.cni is read by ovs-cni
  // after v0.39.0; one passed per pod is not visible here, and KubeVirt's launcher pods pass none.
  ovs: plugin({
    properties: {
      bridge: { type: "string", minLength: 1, "x-hint": 'name the Open vSwitch bridge, such as "br1"' },
      deviceID: { type: "string", minLength: 1, "x-hint": 'give the VF\'s PCI address, such as "0000:03:00.2"' },
      args: { type: "object" },
      vlan: vlanId,
      trunk,
      mtu,
      interface_type: str,
      ofport_request: { type: "integer", minimum: 1, maximum: 65279 },
      configuration_ref: str,
      socket_file: str,
    },
    if: {
      not: {
        anyOf: [
          { required: ["deviceID"] },
          {
            required: ["args"],
            properties: { args: { type: "object", required: ["cni"], properties: { cni: { type: "object", required: ["ovnPort"] } } } },
          },
        ],
      },
    },
    then: {
      required: ["bridge"],
      properties: {
        bridge: {
          "x-hint":
            'name the Open vSwitch bridge, such as "br1", or give deviceID (hardware offload) or args.cni.ovnPort, from which ovs-cni finds the bridge',
        },
      },
    },
  }),
  bridge: plugin({
    properties: {
      bridge: { type: "string", minLength: 1, "x-hint": 'name the Linux bridge, such as "br0"' },
      isGateway: bool,
      isDefaultGateway: bool,
      forceAddress: bool,
      ipMasq: bool,
      hairpinMode: bool,
      promiscMode: bool,
      vlan: vlanId,
      vlanTrunk: trunk,
      preserveDefaultVlan: bool,
      macspoofchk: bool,
      enabledad: bool,
      mtu,
    },
  }),
  macvlan: plugin({
    properties: {
      master: { type: "string", minLength: 1, "x-hint": 'name the host interface, such as "eth1"' },
      mode: { enum: ["bridge", "private", "vepa", "passthru"] },
      mtu,
      linkInContainer: bool,
    },
  }),
  tuning: plugin({
    properties: {
      mac: str,
      mtu,
      promisc: bool,
      allmulti: bool,
      sysctl: {
        type: "object",
        additionalProperties: str,
        "x-hint": 'write an object of strings such as {"net.ipv4.conf.IFNAME.arp_notify": "1"}',
      },
    },
  }),
};

const validators = new Map<string, ValidateFunction>(Object.entries(schemas).map(([type, s]) => [type, ajv.compile(s)]));
const genericPlugin = ajv.compile(plugin({}));
const conflist = ajv.compile({
  type: "object",
  required: ["plugins"],
  properties: {
    cniVersion: str,
    name: str,
    plugins: {
      type: "array",
      minItems: 1,
      items: { type: "object" },
      "x-hint": 'list the plugins, such as [{"type": "ovs", "bridge": "br1"}]',
    },
  },
});

/** Validates one plugin config; findings' fields are under `base` (e.g. spec.config.plugins[0]). */
export function validatePlugin(config: unknown, base: string): Finding[] {
  const type = typeof (config as { type?: unknown } | null)?.type === "string" ? (config as { type: string }).type : undefined;
  const validate = (type !== undefined && validators.get(type)) || genericPlugin;
  validate(config);
  return toFindings(validate.errors, base, type);
}

/** Validates the outer shape of a conflist ({cniVersion, name, plugins: [...]}). */
export function validateConflist(config: unknown, base: string): Finding[] {
  conflist(config);
  return toFindings(conflist.errors, base, undefined);
}

/** CNI types with a schema of their own (others get the generic plugin schema). */
export const KNOWN_CNI_TYPES = [...validators.keys()];

function toFindings(errors: ErrorObject[] | null | undefined, base: string, type: string | undefined): Finding[] {
  const useful = (errors ?? []).filter(e => e.keyword !== "if" && !e.schemaPath.includes("/anyOf/"));
  return useful.map(e => toFinding(e, base, type));
}

function toFinding(e: ErrorObject, base: string, type: string | undefined): Finding {
  const field = base + pointerToPath(e.instancePath);
  const where = type ? ` (CNI type ${show(type)})` : "";
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  if (e.keyword === "required") {
    const missing = String((e.params as { missingProperty?: unknown }).missingProperty);
    const props = (parent.properties ?? {}) as Record<string, Record<string, unknown>>;
    return { field: `${field}.${missing}`, message: `${missing} is required${where}${hintOf(props[missing])}` };
  }
  const what = show(e.data);
  if (e.keyword === "enum") {
    const allowed = ((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).map(v => String(v)).join(", ");
    return { field, value: e.data, message: `${what} is not allowed${where}; use one of ${allowed}` };
  }
  const problem = e.keyword === "anyOf" ? "is not a valid entry" : (e.message ?? "is invalid");
  return { field, value: e.data, message: `${what} ${problem}${where}${hintOf(parent)}` };
}

function hintOf(schema: Record<string, unknown> | undefined): string {
  const hint = schema?.["x-hint"];
  return typeof hint === "string" ? `; ${hint}` : "";
}

/** JSON pointer "/plugins/0/vlan" -> ".plugins[0].vlan". */
function pointerToPath(pointer: string): string {
  if (pointer === "") return "";
  return pointer
    .split("/")
    .slice(1)
    .map(seg => seg.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map(seg => (/^\d+$/.test(seg) ? `[${seg}]` : `.${seg}`))
    .join("");
}
