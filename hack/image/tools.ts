// The Go programs of the image build: the assembler (vmnet-image, on go-containerregistry) and
// the pause program. Built once from hack/image/go.mod into ~/.cache/vmnet-operator, keyed by
// their sources and the Go toolchain (a different toolchain may compile a different pause binary
// and gzip differently, so it is part of the key and of the image's inputs).
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const MODULE_DIR = __dirname;
const SOURCES = ["go.mod", "go.sum", "main.go", "pause/main.go"];

export interface Tools {
  assembler: string;
  pause: string;
  /** Hash of the sources and toolchain: changes whenever either program may change. */
  key: string;
}

function goBinary(): string {
  for (const dir of (process.env.PATH ?? "").split(":").concat("/usr/local/go/bin")) {
    const go = path.join(dir, "go");
    if (dir && fs.existsSync(go)) return go;
  }
  throw new Error("go not found on PATH or in /usr/local/go/bin: it builds the image assembler and the pause program");
}

function toolsKey(go: string): string {
  const h = crypto.createHash("sha256");
  h.update(execFileSync(go, ["version"], { encoding: "utf8" }));
  for (const f of SOURCES) h.update(f).update(fs.readFileSync(path.join(MODULE_DIR, f)));
  return h.digest("hex").slice(0, 16);
}

function goBuild(go: string, pkg: string, out: string): void {
  // Static, without build paths, VCS stamps or build IDs: the pause binary goes into an image
  // whose digest must not depend on where or when it was built.
  execFileSync(go, ["build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w -buildid=", "-o", `${out}.partial`, pkg], {
    cwd: MODULE_DIR,
    env: { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=readonly" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  fs.renameSync(`${out}.partial`, out);
}

export function ensureTools(cache: string, log: (m: string) => void): Tools {
  const go = goBinary();
  const key = toolsKey(go);
  const dir = path.join(cache, `image-tools-${key}`);
  const tools = { assembler: path.join(dir, "vmnet-image"), pause: path.join(dir, "vmnet-pause"), key };
  if (fs.existsSync(tools.assembler) && fs.existsSync(tools.pause)) return tools;
  fs.mkdirSync(dir, { recursive: true });
  const started = Date.now();
  log(`building the image assembler (go-containerregistry) and the pause program into ${dir} (first time only: about a minute)`);
  log("downloading Go modules");
  execFileSync(go, ["mod", "download"], { cwd: MODULE_DIR, stdio: ["ignore", "inherit", "inherit"] });
  log("compiling vmnet-image");
  goBuild(go, ".", tools.assembler);
  log("compiling vmnet-pause");
  goBuild(go, "./pause", tools.pause);
  log(`tools done in ${Math.round((Date.now() - started) / 1000)} s`);
  return tools;
}
