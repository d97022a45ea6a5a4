// Generates capabilities/api from crds/ (the source of truth): TypeScript types through
// `kubernetes-fluent-client crd` and one JSON Schema per kind for ajv. `--check` regenerates into
// a temporary folder and fails when the committed files are stale.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import yaml from "js-yaml";

const ROOT = path.join(__dirname, "..");
const CRDS = path.join(ROOT, "crds");
const API = path.join(ROOT, "capabilities", "api");

interface Crd {
  spec: { names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: unknown } }[] };
}

export function generate(outDir: string): string[] {
  const written: string[] = [];
  fs.mkdirSync(path.join(outDir, "schemas"), { recursive: true });
  for (const file of fs
    .readdirSync(CRDS)
    .filter(f => f.endsWith(".yaml"))
    .sort()) {
    const source = path.join(CRDS, file);
    execFileSync(path.join(ROOT, "node_modules", ".bin", "kubernetes-fluent-client"), ["crd", source, outDir], { stdio: "ignore" });
    const crd = yaml.load(fs.readFileSync(source, "utf8")) as Crd;
    for (const v of crd.spec.versions) {
      const name = `${crd.spec.names.kind.toLowerCase()}-${v.name}`;
      const schemaFile = path.join(outDir, "schemas", `${name}.json`);
      fs.writeFileSync(schemaFile, JSON.stringify(v.schema.openAPIV3Schema, null, 2) + "\n");
      written.push(`${name}.ts`, `schemas/${name}.json`);
    }
  }
  return written;
}

/** Returns the generated files whose committed copy differs from a fresh generation. */
export function staleFiles(): string[] {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "vmnet-api-"));
  try {
    return generate(tmp).filter(f => {
      const committed = path.join(API, f);
      return !fs.existsSync(committed) || fs.readFileSync(committed, "utf8") !== fs.readFileSync(path.join(tmp, f), "utf8");
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  if (process.argv.includes("--check")) {
    const stale = staleFiles();
    if (stale.length) {
      console.error(`stale generated files in capabilities/api: ${stale.join(", ")}; run npm run generate`);
      process.exit(1);
    }
    console.log("capabilities/api is up to date with crds/");
  } else {
    console.log(`generated: ${generate(API).join(", ")}`);
  }
}
