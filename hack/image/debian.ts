// The Debian base of the operator image: the pinned packages of debian-packages.lock, fetched
// with apt-get, checked against their sha256 and unpacked with dpkg-deb, all cached
// content-addressed under ~/.cache/vmnet-operator/debs (a second build touches no network).
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export interface DebPin {
  name: string;
  version: string;
  arch: string;
  sha256: string;
}

/** A downloaded .deb whose sha256 is not the lock file's. */
export class DebChecksumError extends Error {
  constructor(
    readonly pin: DebPin,
    readonly actual: string,
  ) {
    super(`${pin.name}=${pin.version}: sha256 ${actual}, the lock file says ${pin.sha256}`);
  }
}

/** apt-get could not download a pinned version (not in the archive, or no package lists). */
export class DebDownloadError extends Error {}

export const LOCK_FILE = path.join(__dirname, "debian-packages.lock");

export function parseLock(text: string): DebPin[] {
  return text
    .split("\n")
    .map(l => l.replace(/#.*/, "").trim())
    .filter(Boolean)
    .map(line => {
      const [name, version, arch, sha256, ...rest] = line.split(/\s+/);
      if (!sha256 || rest.length || !/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`debian-packages.lock: malformed line: ${line}`);
      return { name, version, arch, sha256 };
    });
}

export function readLock(file = LOCK_FILE): DebPin[] {
  return parseLock(fs.readFileSync(file, "utf8"));
}

export function sha256File(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

function aptDownload(pin: DebPin, dir: string): void {
  execFileSync("apt-get", ["download", "-q", `${pin.name}:${pin.arch}=${pin.version}`], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/** The .deb of one pin: from the cache, or downloaded (with one `apt-get update` if apt has no lists yet). */
export function fetchDeb(pin: DebPin, cache: string, log: (m: string) => void): string {
  const file = path.join(cache, "debs", `${pin.sha256}.deb`);
  if (fs.existsSync(file)) return file;
  const tmp = fs.mkdtempSync(path.join(cache, "debs", ".download-"));
  // apt drops privileges to _apt for the download and warns when that user cannot write here.
  fs.chmodSync(tmp, 0o777);
  try {
    log(`downloading ${pin.name}=${pin.version}`);
    try {
      aptDownload(pin, tmp);
    } catch {
      log("apt-get download failed: refreshing the package lists once (apt-get update)");
      try {
        execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "pipe"] });
        aptDownload(pin, tmp);
      } catch (err) {
        const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? String(err);
        throw new DebDownloadError(
          `apt-get download ${pin.name}=${pin.version}: ${stderr} (see hack/image/debian-packages.lock for moving to a newer version)`,
        );
      }
    }
    const [deb] = fs.readdirSync(tmp).filter(f => f.endsWith(".deb"));
    const actual = sha256File(path.join(tmp, deb));
    if (actual !== pin.sha256) throw new DebChecksumError(pin, actual);
    fs.renameSync(path.join(tmp, deb), file);
    return file;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The unpacked tree of one pin (dpkg-deb -x: the files only, no maintainer scripts). */
export function unpackedDeb(pin: DebPin, cache: string, log: (m: string) => void): string {
  const dir = path.join(cache, "debs", pin.sha256);
  if (fs.existsSync(dir)) return dir;
  const deb = fetchDeb(pin, cache, log);
  const tmp = `${dir}.partial`;
  fs.rmSync(tmp, { recursive: true, force: true });
  execFileSync("dpkg-deb", ["-x", deb, tmp], { stdio: ["ignore", "ignore", "pipe"] });
  fs.renameSync(tmp, dir);
  return dir;
}

export function debianBase(cache: string, log: (m: string) => void, pins: DebPin[] = readLock()): { pin: DebPin; dir: string }[] {
  fs.mkdirSync(path.join(cache, "debs"), { recursive: true });
  return pins.map(pin => ({ pin, dir: unpackedDeb(pin, cache, log) }));
}
