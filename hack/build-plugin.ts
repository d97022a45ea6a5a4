// Bundles the kubectl plugin into one file, dist/kubectl-vmnet, that runs on plain node (20+)
// with no checkout, no node_modules and no tsx: install it by copying it onto PATH. Same esbuild
// settings as the operator's image bundle (hack/image/bundle.ts), except that the licence notices
// stay inline (one file to copy) and the file starts with a shebang.
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { BundleError, NODE_BUNDLE } from "./image/bundle";

const ROOT = path.join(__dirname, "..");
export const PLUGIN_BUNDLE = path.join(ROOT, "dist", "kubectl-vmnet");

export async function bundlePlugin(outfile = PLUGIN_BUNDLE): Promise<string> {
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ["bin/kubectl-vmnet.ts"],
    outfile,
    ...NODE_BUNDLE,
    legalComments: "eof",
    banner: { js: "#!/usr/bin/env node" },
  });
  const problems = [...result.errors, ...result.warnings];
  if (problems.length) throw new BundleError(problems);
  fs.chmodSync(outfile, 0o755);
  return outfile;
}

if (require.main === module) {
  void bundlePlugin().then(
    file => console.log(`bundled ${path.relative(ROOT, file)} (${(fs.statSync(file).size / 1024).toFixed(0)} KiB)`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
