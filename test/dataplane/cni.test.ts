// The Multus-shaped CNI call the data-plane tests make. Pure: runs anywhere, no root.
import assert from "node:assert/strict";
import { CniResult, multusInvocation, PodSandbox } from "./cni";

const NAD =
  '{"cniVersion":"0.4.0","name":"vlan100","type":"ovs","bridge":"br-vmnet","vlan":100,"ipam":{"type":"static"},"capabilities":{"ips":true,"mac":true}}';
const ELEMENT = { name: "vlan100", namespace: "tenant-a", interface: "pod1a2b3c4d5e6", ips: ["10.100.0.23/24"], mac: "02:00:0a:64:00:17" };
const POD: PodSandbox = {
  namespace: "tenant-a",
  name: "virt-launcher-web-1-abcde",
  uid: "0b7f1c2e-0000-4000-8000-000000000001",
  containerId: "c0ffee",
  netns: "/var/run/netns/vmnet-dp-1a2b3c",
};
const POD_ARGS = `IgnoreUnknown=true;K8S_POD_NAMESPACE=tenant-a;K8S_POD_NAME=virt-launcher-web-1-abcde;K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=${POD.uid}`;

describe("multusInvocation (the data-plane tests' stand-in for Multus)", () => {
  it("ADD: runtimeConfig for the declared capabilities, MAC= and IP= in CNI_ARGS, the element's interface", () => {
    const inv = multusInvocation("ADD", NAD, ELEMENT, POD, "/opt/cni/bin");
    assert.equal(inv.plugin, "/opt/cni/bin/ovs");
    assert.deepEqual(JSON.parse(inv.stdin), {
      ...(JSON.parse(NAD) as object),
      runtimeConfig: { ips: ["10.100.0.23/24"], mac: "02:00:0a:64:00:17" },
    });
    assert.deepEqual(inv.env, {
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: "c0ffee",
      CNI_NETNS: "/var/run/netns/vmnet-dp-1a2b3c",
      CNI_ARGS: `${POD_ARGS};MAC=02:00:0a:64:00:17;IP=10.100.0.23/24`,
      CNI_IFNAME: "pod1a2b3c4d5e6",
      CNI_PATH: "/opt/cni/bin",
    });
  });

  it("passes only the capabilities the config declares (libcni filters them)", () => {
    const nad = JSON.stringify({ ...(JSON.parse(NAD) as object), capabilities: { ips: true, mac: false } });
    const stdin = JSON.parse(multusInvocation("ADD", nad, ELEMENT, POD, "/cni").stdin) as { runtimeConfig?: unknown };
    assert.deepEqual(stdin.runtimeConfig, { ips: ["10.100.0.23/24"] });
    const none = JSON.parse(multusInvocation("ADD", nad, { name: "vlan100" }, POD, "/cni").stdin) as { runtimeConfig?: unknown };
    assert.equal(none.runtimeConfig, undefined);
  });

  it("DEL: the cached ADD result as prevResult, no MAC= or IP=", () => {
    const prev: CniResult = { cniVersion: "0.4.0", ips: [{ version: "4", address: "10.100.0.23/24", interface: 1 }] };
    const inv = multusInvocation("DEL", NAD, ELEMENT, POD, "/cni", prev);
    assert.deepEqual((JSON.parse(inv.stdin) as { prevResult?: unknown }).prevResult, prev);
    assert.equal(inv.env.CNI_ARGS, POD_ARGS);
    assert.equal(inv.env.CNI_COMMAND, "DEL");
  });

  it("names an unnamed config after the NAD, defaults the interface to net1, and refuses conflists", () => {
    const unnamed = '{"cniVersion":"0.4.0","type":"ovs","bridge":"br-vmnet"}';
    const inv = multusInvocation("ADD", unnamed, { name: "vlan100" }, POD, "/cni");
    assert.equal((JSON.parse(inv.stdin) as { name: string }).name, "vlan100");
    assert.equal(inv.env.CNI_IFNAME, "net1");
    assert.throws(() => multusInvocation("ADD", '{"cniVersion":"0.4.0","name":"x","plugins":[]}', ELEMENT, POD, "/cni"), /conflists/);
  });
});
