// Installs what the operator needs in a cluster it did not come with: our CRDs (crds/), the
// KubeVirt and Multus CRD fixtures, and Pepr's store CRD and namespace. Shared by tests and demo.
import yaml from "js-yaml";
import fs from "node:fs";
import path from "node:path";
import { peprStoreCrd } from "./pepr-store-crd";
import { KubeClient, KubeObject } from "../capabilities/k8s/client";
import { ControlPlane, startControlPlane } from "./control-plane";
import { Kinds } from "../capabilities/k8s/kinds";

const ROOT = path.join(__dirname, "..");

export function readManifests(...files: string[]): KubeObject[] {
  return files.flatMap(f => yaml.loadAll(fs.readFileSync(path.join(ROOT, f), "utf8")) as KubeObject[]).filter(Boolean);
}

export function crdManifests(): KubeObject[] {
  const ours = fs
    .readdirSync(path.join(ROOT, "crds"))
    .filter(f => f.endsWith(".yaml"))
    .map(f => `crds/${f}`);
  return [...readManifests(...ours, "test/fixtures/kubevirt-crds.yaml", "test/fixtures/multus-crd.yaml"), peprStoreCrd()];
}

async function waitEstablished(client: KubeClient, name: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const crd = await client.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
      Kinds.CustomResourceDefinition,
      name,
    );
    if (crd.status?.conditions?.some(c => c.type === "Established" && c.status === "True")) return;
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`CRD ${name} was not Established within 30 s`);
}

export async function installCrds(client: KubeClient): Promise<void> {
  const crds = crdManifests();
  await Promise.all(crds.map(crd => client.apply(Kinds.CustomResourceDefinition, crd)));
  await Promise.all(crds.map(crd => waitEstablished(client, crd.metadata?.name as string)));
  await client.apply(Kinds.Namespace, { metadata: { name: "pepr-system" } });
}

/** A local control plane with our CRDs installed before kube-controller-manager starts; sets KUBECONFIG. */
export async function startLocalCluster(opts: { apiServerFlags?: string[] } = {}): Promise<ControlPlane> {
  return startControlPlane({
    ...opts,
    beforeControllerManager: async kubeconfig => {
      process.env.KUBECONFIG = kubeconfig;
      const client = await KubeClient.fromDefault();
      await installCrds(client);
      await client.close();
    },
  });
}
