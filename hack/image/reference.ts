// The one home of the image names and where their archives live. Other code (the node's
// containerd import, config/ and the chart, tests) imports these instead of spelling a name.
//
// `localhost/` is the registry part on purpose: the images are imported into the node's
// containerd and never pulled (imagePullPolicy Never/IfNotPresent), and a name with an explicit
// registry is not rewritten to docker.io/library/... by containerd's or the kubelet's
// normalisation, so the name in a pod spec is exactly the name `ctr images ls` shows.
import os from "node:os";
import path from "node:path";
import pkg from "../../package.json";

export const OPERATOR_REPOSITORY = "localhost/vmnet-operator";
export const PAUSE_REPOSITORY = "localhost/vmnet-pause";
/** Our pause program's own version (hack/image/pause): bump it when the program changes. */
export const PAUSE_TAG = "1.0";
/** The simulator's launcher pods on the local node: pause plus `ip` and `ping` (hack/image/launcher-packages.lock). */
export const LAUNCHER_REPOSITORY = "localhost/vmnet-launcher";
/** Bump with a change of its packages or program. */
export const LAUNCHER_TAG = "1.0";

export type ImageName = "operator" | "pause" | "launcher";
export const IMAGE_NAMES: readonly ImageName[] = ["operator", "pause", "launcher"];

/**
 * The operator's tag: package.json's version, or VMNET_IMAGE_TAG for a rebuilt image (upgrade
 * tests: `VMNET_IMAGE_TAG=0.1.0-r2 npm run image`).
 */
export function operatorTag(env: NodeJS.ProcessEnv = process.env): string {
  return env.VMNET_IMAGE_TAG || pkg.version;
}

/** `localhost/vmnet-operator:0.1.0` (today). */
export function operatorImage(tag: string = operatorTag()): string {
  return `${OPERATOR_REPOSITORY}:${tag}`;
}

/** `localhost/vmnet-pause:1.0`: the sandbox image of the local node's containerd. */
export function pauseImage(): string {
  return `${PAUSE_REPOSITORY}:${PAUSE_TAG}`;
}

/** `localhost/vmnet-launcher:1.0`: the container image of the KubeVirt simulator's launcher pods on the local node. */
export function launcherImage(): string {
  return `${LAUNCHER_REPOSITORY}:${LAUNCHER_TAG}`;
}

export function imageReference(name: ImageName, env: NodeJS.ProcessEnv = process.env): string {
  if (name === "operator") return operatorImage(operatorTag(env));
  return name === "pause" ? pauseImage() : launcherImage();
}

/** ~/.cache/vmnet-operator (VMNET_CACHE overrides it, as in hack/build-*.sh). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.VMNET_CACHE || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "vmnet-operator");
}

/** Where `npm run image` writes an image's OCI archive: images/vmnet-operator-0.1.0.oci.tar. */
export function imageArchive(reference: string, env: NodeJS.ProcessEnv = process.env): string {
  const [repo, tag] = splitReference(reference);
  return path.join(cacheDir(env), "images", `${path.basename(repo)}-${tag}.oci.tar`);
}

export function splitReference(reference: string): [repository: string, tag: string] {
  const colon = reference.lastIndexOf(":");
  if (colon <= reference.lastIndexOf("/")) throw new Error(`image reference without a tag: ${reference}`);
  return [reference.slice(0, colon), reference.slice(colon + 1)];
}
