// Pepr's PeprStore CRD, read from Pepr's own source in a child process. Why a child process:
// loading pepr/src registers Pepr's Store kind with kubernetes-fluent-client a second time in a
// process that also loads the `pepr` package (as every test process does), and that throws.
import { execFileSync } from "node:child_process";
import path from "node:path";
import type { KubeObject } from "../capabilities/k8s/client";

let cached: KubeObject | undefined;

export function peprStoreCrd(): KubeObject {
  if (cached) return cached;
  const root = path.join(__dirname, "..");
  const out = execFileSync(
    process.execPath,
    [
      path.join(root, "node_modules", "tsx", "dist", "cli.mjs"),
      "-e",
      'process.stdout.write(JSON.stringify(require("pepr/src/lib/assets/store").peprStoreCRD))',
    ],
    { cwd: root, encoding: "utf8" },
  );
  cached = JSON.parse(out) as KubeObject;
  return cached;
}
