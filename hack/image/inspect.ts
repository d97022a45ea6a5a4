// Reads an archive written by `npm run image` without a container engine: its index, manifest
// and config, and the root filesystem its layers make. For tests, and for a look by hand:
//   npx tsx hack/image/inspect.ts <archive> [rootfs-dir]
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface ImageConfig {
  User?: string;
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  Labels?: Record<string, string>;
}

export interface OciImage {
  reference: string;
  digest: string;
  config: { architecture: string; os: string; created: string; config: ImageConfig };
  /** Layer blobs (gzip tar), in order. */
  layers: string[];
  /** The directory the archive was unpacked into (remove it when done). */
  dir: string;
}

interface Descriptor {
  digest: string;
  annotations?: Record<string, string>;
}

const blob = (dir: string, digest: string): string => path.join(dir, "blobs", ...digest.split(":"));
const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, "utf8")) as T;

export function readArchive(archive: string, dir: string = fs.mkdtempSync(path.join(os.tmpdir(), "vmnet-oci-"))): OciImage {
  execFileSync("tar", ["-xf", archive, "-C", dir]);
  const index = readJson<{ manifests: Descriptor[] }>(path.join(dir, "index.json"));
  if (index.manifests.length !== 1) throw new Error(`${archive}: ${index.manifests.length} manifests, expected one image`);
  const [desc] = index.manifests;
  const manifest = readJson<{ config: Descriptor; layers: Descriptor[] }>(blob(dir, desc.digest));
  return {
    reference: desc.annotations?.["io.containerd.image.name"] ?? "",
    digest: desc.digest,
    config: readJson(blob(dir, manifest.config.digest)),
    layers: manifest.layers.map(l => blob(dir, l.digest)),
    dir,
  };
}

/** Every path in the image's layers (tar's listing: "usr/local/bin/node", "app/", ...). */
export function layerPaths(image: OciImage): string[] {
  return image.layers.flatMap(l =>
    execFileSync("tar", ["-tzf", l], { encoding: "utf8", maxBuffer: 64 << 20 })
      .split("\n")
      .filter(Boolean),
  );
}

/** Unpacks the layers in order into `rootfs` (our layers have no whiteouts to apply). */
export function unpackRootfs(image: OciImage, rootfs: string): string {
  fs.mkdirSync(rootfs, { recursive: true });
  for (const l of image.layers) execFileSync("tar", ["-xzf", l, "-C", rootfs, "--no-same-owner"]);
  return rootfs;
}

/**
 * argv that runs a program of the unpacked image on the host with the image's own loader and
 * libraries (not the host's), so the Debian base is what gets exercised, without root.
 */
export function rootfsCommand(rootfs: string, program: string, args: string[]): string[] {
  const libs = ["lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"].map(d => path.join(rootfs, d)).join(":");
  return [path.join(rootfs, "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), "--library-path", libs, path.join(rootfs, program), ...args];
}

if (require.main === module) {
  const [archive, rootfs] = process.argv.slice(2);
  if (!archive) throw new Error("usage: inspect.ts <archive> [rootfs-dir]");
  const img = readArchive(archive);
  console.log(JSON.stringify({ reference: img.reference, digest: img.digest, config: img.config }, null, 2));
  if (rootfs) console.error(`unpacked into ${unpackRootfs(img, rootfs)}`);
  fs.rmSync(img.dir, { recursive: true, force: true });
}
