// Masquerade VMs annotated vmnet.io/expose get a Service named after them, kept in step.
import assert from "node:assert/strict";
import { KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { eventually, gone, vmManifest } from "../helpers";
import { cluster, freshNamespace } from "../setup/cluster";

interface Service extends KubeObject {
  spec: {
    type: string;
    clusterIP: string;
    selector: Record<string, string>;
    ports: { name: string; port: number; targetPort: number; protocol: string }[];
  };
}

const web = (
  ns: string,
  annotations: Record<string, string>,
  ports = [
    { port: 80, name: "http" },
    { port: 53, protocol: "UDP" },
  ],
): KubeObject => vmManifest(ns, "web", [{ name: "default", binding: "masquerade", ports }], annotations);

describe("stable endpoints for masquerade VMs", () => {
  it("keeps a Service named after the VM, selecting its launcher pod, with the interface's ports", async () => {
    const { client } = cluster();
    const ns = await freshNamespace("expose");
    await client.create(Kinds.VirtualMachine, web(ns, { "vmnet.io/expose": "ClusterIP" }));
    const svc = await eventually("the Service", () => client.getOrUndefined<Service>(Kinds.Service, "web", ns));
    assert.deepEqual(svc.spec.selector, { "vm.kubevirt.io/name": "web" });
    assert.deepEqual(
      svc.spec.ports.map(p => [p.name, p.port, p.targetPort, p.protocol]),
      [
        ["http", 80, 80, "TCP"],
        ["udp-53", 53, 53, "UDP"],
      ],
    );
    assert.equal(svc.metadata?.ownerReferences?.[0].kind, "VirtualMachine");
    assert.equal(svc.metadata?.labels?.["argocd.argoproj.io/instance"], undefined);

    // Ports and type follow the VM.
    await client.mergePatch(Kinds.VirtualMachine, "web", ns, {
      metadata: { annotations: { "vmnet.io/expose": "NodePort" } },
      spec: {
        template: {
          spec: { domain: { devices: { interfaces: [{ name: "default", masquerade: {}, ports: [{ port: 8443, name: "https" }] }] } } },
        },
      },
    });
    await eventually("the Service updated", async () => {
      const s = await client.get<Service>(Kinds.Service, "web", ns);
      return s.spec.type === "NodePort" && s.spec.ports.length === 1 && s.spec.ports[0].port === 8443 ? s : undefined;
    });

    // A pinned ClusterIP is honoured (the Service is re-created: clusterIP is immutable).
    await client.mergePatch(Kinds.VirtualMachine, "web", ns, { metadata: { annotations: { "vmnet.io/service-ip": "10.96.123.45" } } });
    await eventually(
      "the pinned ClusterIP",
      async () => (await client.get<Service>(Kinds.Service, "web", ns)).spec.clusterIP === "10.96.123.45" || undefined,
    );

    // Removing the annotation removes the Service.
    await client.mergePatch(Kinds.VirtualMachine, "web", ns, {
      metadata: { annotations: { "vmnet.io/expose": null, "vmnet.io/service-ip": null } },
    });
    await gone(Kinds.Service, "web", ns);
  });

  it("says why when the pinned ClusterIP is outside the service range", async () => {
    const { client } = cluster();
    const ns = await freshNamespace("expose");
    await client.create(Kinds.VirtualMachine, web(ns, { "vmnet.io/expose": "ClusterIP", "vmnet.io/service-ip": "192.0.2.10" }));
    await eventually("a ServiceRejected Event", async () => {
      const events = await client.list<KubeObject & { reason: string; message: string }>(Kinds.Event, { namespace: ns });
      return events.items.find(e => e.reason === "ServiceRejected" && e.message.includes("192.0.2.10"));
    });
  });
});
