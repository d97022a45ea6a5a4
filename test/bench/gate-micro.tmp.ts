import { gate, jsonDepth, peekUid } from "../../capabilities/webhook-server/gate";
import { vmManifest } from "../helpers";
const vm = vmManifest("bench-admission", "web", [{ name: "default", ports: [{ port: 80 }] }, { name: "ovs1", network: "vlan100" }], {});
const text = JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "0b6c1a9e-4c4e-4bd8-9d1f-1d2a3b4c5d6e", kind: { group: "kubevirt.io", version: "v1", kind: "VirtualMachine" }, resource: { group: "kubevirt.io", version: "v1", resource: "virtualmachines" }, namespace: "bench-admission", operation: "CREATE", userInfo: { username: "bench" }, object: vm } });
console.log("bytes", text.length);
for (const [name, f] of [["gate", () => gate(text)], ["jsonDepth", () => jsonDepth(text)], ["JSON.parse", () => JSON.parse(text)], ["peekUid", () => peekUid(text)], ["byteLength", () => Buffer.byteLength(text)]] as const) {
  for (let i = 0; i < 20000; i++) f();
  const t = process.cpuUsage();
  for (let i = 0; i < 50000; i++) f();
  const u = process.cpuUsage(t);
  console.log(name, ((u.user + u.system) / 50000).toFixed(2), "µs");
}
