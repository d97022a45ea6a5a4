// The node's secondary networks (hack/node-cluster.ts): Multus's thin plugin as the node's CNI,
// delegating the pod network to the reference plugins and every NetworkAttachmentDefinition of a
// pod's k8s.v1.cni.cncf.io/networks to its own plugin (ovs-cni with static IPAM here), and the
// node's Open vSwitch with the userspace (netdev) datapath that ovs-cni attaches pods to.
// Pure renderers and the identity Multus reads the API server with; the processes are started by
// node-cluster.ts.
import fs from "node:fs";
import path from "node:path";
import type { KubeClient } from "../capabilities/k8s/client";
import { clusterUserKubeconfig, UserKubeconfigs } from "./cluster-user";

/** The node's OVS bridge, the one every ovs NAD of the tests names (test/helpers.ts OVS_STATIC_CONFIG). */
export const OVS_BRIDGE = "br-vmnet";
/**
 * Where ovs-cni looks for OVSDB when a NAD has no "socket_file" (its default,
 * unix:/var/run/openvswitch/db.sock). The node's containerd and kubelet run in a mount namespace
 * of their own in which the node's OVS directory is mounted here, so a plain NAD works as on any
 * OVS node and two clusters on this machine never share a socket.
 */
export const OVS_RUN_DIR = "/run/openvswitch";

/** Multus's user (a client certificate of the cluster CA) and the RBAC it gets. */
export const MULTUS_USER = "vmnet-node:multus";
const NAME = "vmnet-node-multus";

/**
 * What the thin plugin does, from Multus v4.2.3's source: GET the pod (its networks annotation),
 * GET each NAD it names, UpdateStatus the pod to write k8s.v1.cni.cncf.io/network-status
 * (network-attachment-definition-client's SetNetworkStatus), and record an AddedInterface event
 * per attachment. No list or watch: the thin plugin has no informers.
 */
export const MULTUS_RULES = [
  { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
  { apiGroups: [""], resources: ["pods/status"], verbs: ["update"] },
  { apiGroups: ["k8s.cni.cncf.io"], resources: ["network-attachment-definitions"], verbs: ["get"] },
  { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
];

/** Grants MULTUS_USER its rules (idempotent) and returns a kubeconfig that authenticates as it. */
export async function multusKubeconfig(controlPlane: UserKubeconfigs, admin: KubeClient): Promise<string> {
  return clusterUserKubeconfig(controlPlane, admin, { role: NAME, user: MULTUS_USER, rules: MULTUS_RULES });
}

export interface MultusPaths {
  kubeconfig: string;
  /** The CNI plugins Multus executes (its own directory too). */
  binDir: string;
  /** Multus's state: libcni's result cache (results/) and its delegate cache, under the run directory. */
  cniDir: string;
  logFile: string;
}

/**
 * The node's one CNI configuration: Multus, with the pod network (a conflist) as its first
 * delegate, the cluster network every pod gets as eth0. Its name starts with the node's netns name
 * so the teardown's removal of containerd's libcni cache (/var/lib/cni/results/<name>-*) finds it.
 */
export function multusConfig(networkName: string, podNetwork: Record<string, unknown>, p: MultusPaths): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name: `${networkName}-multus`,
    type: "multus",
    kubeconfig: p.kubeconfig,
    binDir: p.binDir,
    cniDir: p.cniDir,
    // Only for a "clusterNetwork" given by name, which this config does not use; kept off /etc.
    confDir: path.join(p.cniDir, "net.d"),
    logFile: p.logFile,
    logLevel: "verbose",
    logToStderr: false,
    multusNamespace: "kube-system",
    systemNamespaces: ["kube-system"],
    delegates: [podNetwork],
  };
}

const SCHEMA_DIRS = [process.env.OVS_PKGDATADIR, "/usr/share/openvswitch", "/usr/local/share/openvswitch"];

/** Open vSwitch's database schema, or undefined when Open vSwitch is not installed. */
export function ovsSchema(): string | undefined {
  return SCHEMA_DIRS.filter((d): d is string => !!d)
    .map(d => path.join(d, "vswitch.ovsschema"))
    .find(f => fs.existsSync(f));
}

/** Arguments that keep an OVS daemon's pidfile, control socket and log in `dir`, in the foreground. */
export function ovsDaemonArgs(dir: string, name: string): string[] {
  return [
    `--pidfile=${path.join(dir, `${name}.pid`)}`,
    `--unixctl=${path.join(dir, `${name}.ctl`)}`,
    `--log-file=${path.join(dir, `${name}.log`)}`,
    "-vconsole:off",
    "--no-chdir",
  ];
}
