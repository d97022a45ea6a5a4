// KubeVirt's own admission rules for a VM's interfaces and networks, so that we refuse what KubeVirt
// refuses and accept what it accepts. Pure.
//
// Followed release: KubeVirt v1.9.0 (KUBEVIRT_RELEASE), with its default feature gates and default
// KubeVirt CR configuration. The rules come from reading that release's pkg/network/admitter/*.go
// (netsource, netiface, binding, passt, discontinued, admit, dra) and the interface parts of
// pkg/virt-api/webhooks/validating-webhook/admitters/vmi-create-admitter.go (boot order, probes).
// The VM admitter runs them on the template after KubeVirt's defaulting (a VM with neither
// interfaces nor networks gets a bridge NIC on the pod network) and the discontinued bindings only
// on create. Gates that matter, as v1.9.0 sets them by default:
//   PasstBinding (beta): on, so passtBinding is accepted on the pod network;
//   PortRangesSpec (alpha): off, so any portRanges is refused;
//   NetworkDevicesWithDRA (alpha): off, so any resourceClaim network is refused;
//   network.permitBridgeInterfaceOnPodNetwork: true, so bridge on the pod network is accepted.
// The messages are ours and end with a fix. Where vmnet-operator is stricter or looser on purpose,
// the rule lives in vm.ts and its message says so (PRODUCT_RULE).
import { Finding, Findings, ValidationResult, isRecord, present, show, typeName } from "./findings";
import { isIPv4Mapped } from "../ipam/address";
import { parseIP } from "./net";
import { parseUnicastMac } from "./names";
import { VMContext, vmContext } from "./vm-context";
import {
  BindingMethod,
  DISCONTINUED_BINDINGS,
  IfaceEntry,
  NETWORKS,
  NetEntry,
  POD_ONLY_BINDINGS,
  TEMPLATE,
  isBindingMethod,
  isDiscontinued,
} from "./vm-nics";

export const KUBEVIRT_RELEASE = "v1.9.0";

/** Marks, in a message, a rule where vmnet-operator deliberately differs from KubeVirt's admission. */
export const PRODUCT_RULE = "vmnet-operator's rule, not KubeVirt's";

/** NIC models KubeVirt accepts in interfaces[].model. */
export const NIC_MODELS = ["e1000", "e1000e", "igb", "ne2k_pci", "pcnet", "rtl8139", "virtio"] as const;

/** The MAC KubeVirt gives the pod-side bridge of a masquerade NIC. */
export const RESERVED_MASQUERADE_MAC = "02:00:00:00:00:00";

export interface KubeVirtRuleOptions {
  /** A create request: the discontinued bindings are refused outright (on update only if nothing else binds). */
  creating: boolean;
  /**
   * Binding plugin names registered in the KubeVirt CR (spec.configuration.network.binding), when the
   * caller knows them; undefined when it does not.
   */
  bindingPlugins?: readonly string[];
}

const INTERFACE_NAME = /^[A-Za-z0-9_-]+$/;
const PCI_ADDRESS = /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/;
const INTERFACE_STATES = ["absent", "down", "up"];
const PORT_PROTOCOLS = ["TCP", "UDP"];

/**
 * KubeVirt's verdict alone on a VM as stored, for a controller that meets a VM which got past a
 * webhook outage: it reports these denials (on the claim) instead of binding the NIC silently.
 * By default as on create: virt-controller refuses the discontinued bindings when it creates the VMI.
 */
export function kubevirtNetworkVerdict(vm: unknown, opts: KubeVirtRuleOptions = { creating: true }): ValidationResult {
  const out = new Findings();
  checkKubeVirtNetworkRules(vmContext(vm, out), opts, out);
  return out.result();
}

/** The denials of kubevirtNetworkVerdict on one interface (by name) or its network, and the VM-wide ones. */
export function interfaceProblems(verdict: ValidationResult, vm: unknown, iface: string): Finding[] {
  const entry = vmContext(vm, new Findings()).ifaces.find(i => i.name === iface);
  const paths = [entry?.path, entry?.network?.path].filter((p): p is string => p !== undefined);
  const under = (f: Finding, p: string): boolean => f.field === p || f.field.startsWith(`${p}.`);
  const vmWide = (f: Finding): boolean => !/\.(interfaces|networks)\[/.test(f.field);
  return verdict.denials.filter(f => vmWide(f) || paths.some(p => under(f, p)));
}

/** Checks every network rule of the followed KubeVirt release; denials and warnings go to `out`. */
export function checkKubeVirtNetworkRules(ctx: VMContext, opts: KubeVirtRuleOptions, out: Findings): void {
  checkNetworkSources(ctx, out);
  checkNames(ctx, out);
  for (const iface of ctx.ifaces) {
    checkBinding(ctx, iface, opts, out);
    checkState(ctx, iface, out);
    checkModel(iface, out);
    checkMacFormat(iface, out);
    checkPciAddress(iface, out);
    checkPorts(iface, out);
    checkDhcpOptions(iface, out);
  }
  checkBootOrder(ctx, out);
  checkProbes(ctx, out);
}

// --- networks (netsource.go, dra.go) ---

function checkNetworkSources(ctx: VMContext, out: Findings): void {
  for (const net of ctx.nets) checkNetworkSource(net, out);
  const pods = ctx.nets.filter(n => present(n.raw.pod));
  for (const extra of pods.slice(1)) {
    out.deny(
      `${extra.path}.pod`,
      extra.name,
      `network ${show(extra.name)} is a second pod network (${pods[0].path} is the first); a VM has at most one, use a Multus network for more NICs`,
    );
  }
  const defaults = ctx.nets.filter(isMultusDefault);
  for (const extra of defaults.slice(1)) {
    out.deny(
      `${extra.path}.multus.default`,
      true,
      `network ${show(extra.name)} is a second Multus network marked default: true (${defaults[0].path} is the first); mark at most one`,
    );
  }
  if (pods.length > 0 && defaults.length > 0) {
    out.deny(
      `${defaults[0].path}.multus.default`,
      true,
      `network ${show(defaults[0].name)} replaces the pod network (multus default: true), but ${pods[0].path} is a pod network too; remove one of them`,
    );
  }
  const claims = ctx.nets.filter(n => present(n.raw.resourceClaim));
  for (const net of claims) {
    out.deny(
      `${net.path}.resourceClaim`,
      net.name,
      `network ${show(net.name)} is a DRA resourceClaim network, which needs KubeVirt's NetworkDevicesWithDRA feature gate (alpha in ${KUBEVIRT_RELEASE}, off by default); use a Multus network instead`,
    );
  }
}

function checkNetworkSource(net: NetEntry, out: Findings): void {
  const sources = ["pod", "multus", "resourceClaim"].filter(k => present(net.raw[k]));
  if (sources.length === 0)
    out.deny(
      net.path,
      net.name,
      `network ${show(net.name)} sets neither pod: {} nor multus: {networkName: "namespace/name"}; set one of them`,
    );
  else if (sources.length > 1)
    out.deny(net.path, net.name, `network ${show(net.name)} sets both ${sources.join(" and ")}; keep one of them`);
  if (!present(net.raw.multus)) return;
  const multus = net.raw.multus;
  if (!isRecord(multus)) {
    out.deny(`${net.path}.multus`, multus, `must be an object such as {networkName: "tenant-a/vlan100"}, not ${typeName(multus)}`);
    return;
  }
  if (multus.networkName === undefined || multus.networkName === null || multus.networkName === "")
    out.deny(
      `${net.path}.multus.networkName`,
      multus.networkName,
      `Multus network name ${show(multus.networkName ?? "")} of network ${show(net.name)} names no NetworkAttachmentDefinition; set networkName to "name" or "namespace/name"`,
    );
}

function isMultusDefault(net: NetEntry): boolean {
  return isRecord(net.raw.multus) && net.raw.multus.default === true;
}

/** The network that replaces the pod's own: the pod network, else a Multus network marked default. */
function defaultNetwork(ctx: VMContext): NetEntry | undefined {
  return ctx.nets.find(n => present(n.raw.pod)) ?? ctx.nets.find(isMultusDefault);
}

// --- names and pairing (netiface.go) ---

function checkNames(ctx: VMContext, out: Findings): void {
  unique(ctx.nets, "network", out);
  unique(ctx.ifaces, "interface", out);
  for (const iface of ctx.ifaces) {
    if (iface.name !== undefined && !INTERFACE_NAME.test(iface.name))
      out.deny(
        `${iface.path}.name`,
        iface.name,
        `interface name ${show(iface.name)} may hold only letters, digits, '-' and '_'; rename the interface and its network (a dot is not allowed)`,
      );
    if (!iface.network)
      out.deny(
        `${iface.path}.name`,
        iface.name,
        `interface ${show(iface.name)} has no network of the same name in ${NETWORKS}; add one (pod: {} or multus: {networkName: ...}) or rename the interface`,
      );
  }
  for (const net of ctx.nets) {
    if (ctx.ifaceByName.has(net.name ?? "")) continue;
    out.deny(
      `${net.path}.name`,
      net.name,
      `network ${show(net.name)} has no interface of the same name in spec.template.spec.domain.devices.interfaces; add an interface named ${show(net.name)} or remove the network`,
    );
  }
}

function unique(entries: { name?: string; path: string }[], what: string, out: Findings): void {
  const seen = new Map<string, string>();
  for (const e of entries) {
    const first = seen.get(e.name ?? "");
    if (first !== undefined)
      out.deny(`${e.path}.name`, e.name, `${what} name ${show(e.name)} is already used by ${first}; give every ${what} a unique name`);
    else seen.set(e.name ?? "", e.path);
  }
}

// --- bindings (binding.go, passt.go, discontinued.go) ---

function checkBinding(ctx: VMContext, iface: IfaceEntry, opts: KubeVirtRuleOptions, out: Findings): void {
  const methods = iface.bindings.filter(isBindingMethod);
  checkBindingCount(iface, methods, opts, out);
  checkPodOnlyBindings(iface, methods, out);
  if (methods.includes("masquerade")) checkReservedMac(iface, out);
  if (methods.includes("binding")) checkPlugin(iface, opts, out);
}

/** Exactly one counted binding; a discontinued one is refused on create, and on update when nothing else binds. */
function checkBindingCount(iface: IfaceEntry, methods: BindingMethod[], opts: KubeVirtRuleOptions, out: Findings): void {
  const name = show(iface.name);
  const discontinued = iface.bindings.filter(isDiscontinued);
  for (const key of discontinued) {
    if (!opts.creating && methods.length === 1) continue;
    out.deny(
      `${iface.path}.${key}`,
      iface.name,
      `interface ${name} uses the ${key} binding, which KubeVirt discontinued in v1.3 and no longer runs; ${DISCONTINUED_BINDINGS[key]}`,
    );
  }
  if (methods.length === 0 && discontinued.length === 0) {
    out.deny(
      iface.path,
      iface.name,
      `interface ${name} sets no binding; set exactly one of bridge: {}, masquerade: {}, sriov: {}, passtBinding: {} or binding: {name: <plugin>}`,
    );
  } else if (methods.length > 1) {
    out.deny(
      `${iface.path}.${methods[1]}`,
      methods,
      `interface ${name} sets ${methods.length} bindings (${methods.join(", ")}); keep exactly one`,
    );
  }
}

function checkPodOnlyBindings(iface: IfaceEntry, methods: BindingMethod[], out: Findings): void {
  const net = iface.network;
  if (!net || present(net.raw.pod)) return;
  for (const podOnly of POD_ONLY_BINDINGS) {
    if (!methods.includes(podOnly)) continue;
    const multus = multusName(net);
    const where = multus !== undefined ? `Multus network ${show(multus)}` : `network ${show(net.name)}, which is not the pod network,`;
    out.deny(
      `${iface.path}.${podOnly}`,
      multus ?? net.name,
      `${podOnly} binding on ${where} is not allowed; use bridge, or move the interface to the pod network`,
    );
  }
}

function checkReservedMac(iface: IfaceEntry, out: Findings): void {
  const mac = iface.raw.macAddress;
  const parsed = typeof mac === "string" && mac !== "" ? parseUnicastMac(mac) : undefined;
  if (!parsed || !("mac" in parsed) || parsed.mac !== RESERVED_MASQUERADE_MAC) return;
  // KubeVirt compares the text; the same MAC spelt otherwise collides just the same.
  const spelling =
    mac === RESERVED_MASQUERADE_MAC ? "" : ` (${PRODUCT_RULE}: KubeVirt refuses only the spelling ${RESERVED_MASQUERADE_MAC})`;
  out.deny(
    `${iface.path}.macAddress`,
    mac,
    `macAddress ${show(mac)} of masquerade interface ${show(iface.name)} is the MAC KubeVirt gives the pod-side bridge${spelling}; choose another MAC, or omit it`,
  );
}

function checkPlugin(iface: IfaceEntry, opts: KubeVirtRuleOptions, out: Findings): void {
  const binding = iface.raw.binding;
  const path = `${iface.path}.binding`;
  if (!isRecord(binding)) {
    out.deny(path, binding, `must be an object naming a network binding plugin, such as {name: "macvtap"}, not ${typeName(binding)}`);
    return;
  }
  const plugin = binding.name;
  if (typeof plugin !== "string" || plugin === "") {
    out.deny(
      `${path}.name`,
      plugin,
      `must name the network binding plugin, as the KubeVirt CR registers it in spec.configuration.network.binding (${PRODUCT_RULE}: KubeVirt admits an empty name, but cannot start the VM)`,
    );
    return;
  }
  if (opts.bindingPlugins?.includes(plugin)) return;
  const known = opts.bindingPlugins === undefined ? "" : ` (it registers ${opts.bindingPlugins.map(p => show(p)).join(", ") || "none"})`;
  out.warn(
    `${path}.name`,
    plugin,
    `interface ${show(iface.name)} uses network binding plugin ${show(plugin)}; KubeVirt admits the VM, but starts it only if the KubeVirt CR registers that plugin in spec.configuration.network.binding${known}; register it there, or use a core binding`,
  );
}

// --- interface state (admit.go) ---

function checkState(ctx: VMContext, iface: IfaceEntry, out: Findings): void {
  const state = iface.raw.state;
  if (!present(state) || state === "") return;
  const path = `${iface.path}.state`;
  const name = show(iface.name);
  if (typeof state !== "string" || !INTERFACE_STATES.includes(state)) {
    out.deny(path, state, `state ${show(state)} of interface ${name} is not a state; use up, down or absent, or leave it out`);
    return;
  }
  if ((state === "up" || state === "down") && iface.bindings.includes("sriov"))
    out.deny(path, state, `state ${show(state)} is not supported on SR-IOV interface ${name}; leave state out`);
  if (state !== "absent") return;
  if (!iface.bindings.includes("bridge"))
    out.deny(
      path,
      state,
      `state "absent" (hot-unplug) works only on bridge interfaces, and ${name} is not one; remove the interface instead`,
    );
  const def = defaultNetwork(ctx);
  if (def && def.name === iface.name)
    out.deny(
      path,
      state,
      `state "absent" cannot unplug interface ${name}: it is on the VM's default network ${show(def.name)}; unplug only secondary interfaces`,
    );
}

// --- interface fields (netiface.go) ---

function checkModel(iface: IfaceEntry, out: Findings): void {
  const model = iface.raw.model;
  if (!present(model) || model === "") return;
  if (typeof model === "string" && (NIC_MODELS as readonly string[]).includes(model)) return;
  out.deny(
    `${iface.path}.model`,
    model,
    `NIC model ${show(model)} of interface ${show(iface.name)} is not supported; use one of ${NIC_MODELS.join(", ")}, or leave it out for virtio`,
  );
}

/** KubeVirt reads "" as unset; otherwise a 48-bit MAC (Go's net.ParseMAC forms). */
function checkMacFormat(iface: IfaceEntry, out: Findings): void {
  const mac = iface.raw.macAddress;
  if (!present(mac) || mac === "") return;
  if (typeof mac === "string" && isGoMac48(mac)) return;
  out.deny(
    `${iface.path}.macAddress`,
    mac,
    `macAddress ${show(mac)} of interface ${show(iface.name)} is not a MAC address; write six hex octets such as 02:00:0a:64:00:17, or omit it`,
  );
}

/** The 48-bit forms Go's net.ParseMAC reads: aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff. */
export function isGoMac48(mac: string): boolean {
  return /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/.test(mac) || /^[0-9a-fA-F]{4}(\.[0-9a-fA-F]{4}){2}$/.test(mac);
}

function checkPciAddress(iface: IfaceEntry, out: Findings): void {
  const pci = iface.raw.pciAddress;
  if (!present(pci) || pci === "") return;
  if (typeof pci === "string" && PCI_ADDRESS.test(pci)) return;
  out.deny(
    `${iface.path}.pciAddress`,
    pci,
    `pciAddress ${show(pci)} of interface ${show(iface.name)} is not a PCI address; write domain:bus:slot.function in hex, such as 0000:81:11.1 (function 0 to 7)`,
  );
}

/** Ports are read on the pod network only (KubeVirt ignores them elsewhere); portRanges need an off gate. */
function checkPorts(iface: IfaceEntry, out: Findings): void {
  if (present(iface.raw.portRanges))
    out.deny(
      `${iface.path}.portRanges`,
      iface.raw.portRanges,
      `portRanges needs KubeVirt's PortRangesSpec feature gate (alpha in ${KUBEVIRT_RELEASE}, off by default); list the ports in ports instead`,
    );
  const ports = iface.raw.ports;
  if (!present(ports)) return;
  if (!Array.isArray(ports)) {
    out.deny(`${iface.path}.ports`, ports, `must be a list of {port, protocol, name}, not ${typeName(ports)}`);
    return;
  }
  if (!iface.network || !present(iface.network.raw.pod)) {
    if (ports.length > 0)
      out.warn(
        `${iface.path}.ports`,
        ports.length,
        `ports of interface ${show(iface.name)} have no effect: KubeVirt forwards ports only on the pod network; remove them`,
      );
    return;
  }
  const names = new Map<string, number>();
  ports.forEach((p: unknown, i) => checkPort(p, `${iface.path}.ports[${i}]`, i, names, out));
}

function checkPort(p: unknown, path: string, index: number, names: Map<string, number>, out: Findings): void {
  if (!isRecord(p)) {
    out.deny(path, p, `must be an object such as {port: 80, protocol: TCP}, not ${typeName(p)}`);
    return;
  }
  const port = p.port;
  if (port === undefined || port === null)
    out.deny(`${path}.port`, port, "port is required; give the port number, an integer from 1 to 65535");
  else if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)
    out.deny(`${path}.port`, port, `port ${show(port)} is not a port number; use an integer from 1 to 65535`);
  const protocol = p.protocol;
  if (present(protocol) && protocol !== "" && !(typeof protocol === "string" && PORT_PROTOCOLS.includes(protocol)))
    out.deny(
      `${path}.protocol`,
      protocol,
      `protocol ${show(protocol)} is not supported in ports (KubeVirt forwards TCP and UDP only); use TCP or UDP, upper case, or leave it out for TCP`,
    );
  checkPortName(p.name, `${path}.name`, index, names, out);
}

function checkPortName(name: unknown, path: string, index: number, names: Map<string, number>, out: Findings): void {
  if (!present(name) || name === "") return;
  if (typeof name !== "string" || !isPortName(name)) {
    out.deny(
      path,
      name,
      `port name ${show(name)} is not a valid port name; use at most 15 lowercase letters, digits and '-', with a letter, no '--' and no '-' at either end`,
    );
    return;
  }
  const first = names.get(name);
  if (first !== undefined) out.deny(path, name, `port name ${show(name)} is already used by ports[${first}]; give every port its own name`);
  else names.set(name, index);
}

/** Kubernetes' IANA service name (IsValidPortName). */
function isPortName(name: string): boolean {
  return name.length <= 15 && /^[-a-z0-9]+$/.test(name) && /[a-z]/.test(name) && !name.includes("--") && !/^-|-$/.test(name);
}

function checkDhcpOptions(iface: IfaceEntry, out: Findings): void {
  const dhcp = iface.raw.dhcpOptions;
  if (!present(dhcp)) return;
  const path = `${iface.path}.dhcpOptions`;
  if (!isRecord(dhcp)) {
    out.deny(path, dhcp, `must be an object such as {ntpServers: ["10.0.0.5"]}, not ${typeName(dhcp)}`);
    return;
  }
  listOf(dhcp.privateOptions, `${path}.privateOptions`, out).forEach(([opt, i], _, all) => {
    const option = isRecord(opt) ? opt.option : undefined;
    const at = `${path}.privateOptions[${i}].option`;
    if (typeof option !== "number" || !Number.isInteger(option) || option < 224 || option > 254)
      out.deny(at, option, `DHCP private option ${show(option)} is outside the private range; use a number from 224 to 254`);
    const first = all.find(([o]) => isRecord(o) && o.option === option);
    if (first && first[1] !== i)
      out.deny(at, option, `DHCP private option ${show(option)} is already set by privateOptions[${first[1]}]; set each option once`);
  });
  listOf(dhcp.ntpServers, `${path}.ntpServers`, out).forEach(([server, i]) => {
    if (isIPv4(server)) return;
    out.deny(`${path}.ntpServers[${i}]`, server, `NTP server ${show(server)} is not an IPv4 address; list NTP servers by IPv4 address`);
  });
}

/** Go's net.ParseIP(s).To4() != nil: a dotted quad, or an IPv4-mapped IPv6 address. */
function isIPv4(x: unknown): boolean {
  return parseIP(x)?.family === 4 || (typeof x === "string" && isIPv4Mapped(x));
}

function listOf(x: unknown, path: string, out: Findings): [unknown, number][] {
  if (!present(x)) return [];
  if (!Array.isArray(x)) {
    out.deny(path, x, `must be a list, not ${typeName(x)}`);
    return [];
  }
  return x.map((v: unknown, i) => [v, i]);
}

// --- boot order and probes (vmi-create-admitter.go) ---

function checkBootOrder(ctx: VMContext, out: Findings): void {
  const devices = isRecord(ctx.spec.domain) && isRecord(ctx.spec.domain.devices) ? ctx.spec.domain.devices : {};
  const taken = new Map<number, string>();
  const disks: unknown[] = Array.isArray(devices.disks) ? devices.disks : [];
  disks.forEach((d, i) => {
    const order = isRecord(d) ? d.bootOrder : undefined;
    if (typeof order === "number" && !taken.has(order)) taken.set(order, `${TEMPLATE}.domain.devices.disks[${i}]`);
  });
  for (const iface of ctx.ifaces) {
    const order = iface.raw.bootOrder;
    if (!present(order)) continue;
    const path = `${iface.path}.bootOrder`;
    if (typeof order !== "number" || !Number.isInteger(order) || order < 1) {
      out.deny(
        path,
        order,
        `bootOrder ${show(order)} of interface ${show(iface.name)} is not a boot position; use an integer from 1, or leave it out`,
      );
      continue;
    }
    const first = taken.get(order);
    if (first !== undefined)
      out.deny(
        path,
        order,
        `bootOrder ${order} of interface ${show(iface.name)} is already taken by ${first}; give every device its own boot position`,
      );
    else taken.set(order, iface.path);
  }
}

/** Network probes (httpGet, tcpSocket) reach the guest through the pod network, so they need one. */
function checkProbes(ctx: VMContext, out: Findings): void {
  if (hasPodNetwork(ctx)) return;
  for (const probe of ["readinessProbe", "livenessProbe"]) {
    const spec = ctx.spec[probe];
    if (!isRecord(spec)) continue;
    for (const action of ["httpGet", "tcpSocket"]) {
      if (!present(spec[action])) continue;
      out.deny(
        `${TEMPLATE}.${probe}.${action}`,
        action,
        `${probe} ${action} reaches the guest through the pod network, and this VM has none; add a pod network, or use an exec or guestAgentPing probe`,
      );
    }
  }
}

/** After KubeVirt's defaulting: a VM with neither interfaces nor networks gets the pod network, unless autoattach is off. */
function hasPodNetwork(ctx: VMContext): boolean {
  if (ctx.nets.some(n => present(n.raw.pod))) return true;
  const devices = isRecord(ctx.spec.domain) && isRecord(ctx.spec.domain.devices) ? ctx.spec.domain.devices : {};
  const declared = (x: unknown): boolean => Array.isArray(x) && x.length > 0;
  return devices.autoattachPodInterface !== false && !declared(ctx.spec.networks) && !declared(devices.interfaces);
}

function multusName(net: NetEntry | undefined): string | undefined {
  if (net?.ref && "qualified" in net.ref) return net.ref.qualified;
  const raw = net && isRecord(net.raw.multus) ? net.raw.multus.networkName : undefined;
  return typeof raw === "string" ? raw : undefined;
}
