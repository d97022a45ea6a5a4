// How the benchmarks run the operator: as the image runs it (the esbuild bundle under plain node,
// with the image's NODE_OPTIONS) unless told otherwise. One home for `npm run bench` and the soak,
// so both measure the production build's memory.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { bundleOperator } from "../../hack/image/bundle";
import { OPERATOR_NODE_OPTIONS } from "../../hack/image/node-options";

/**
 * The operator runs as the image runs it (the esbuild bundle under plain node) unless --tsx is
 * given or VMNET_OPERATOR_BUNDLE names a bundle already. Sets the environment startOperator reads
 * (VMNET_OPERATOR_BUNDLE, VMNET_OPERATOR_NODE_ARGS) and returns a line saying what runs.
 */
export async function operatorBuild(argv: readonly string[], profiling: boolean): Promise<string> {
  if (argv.includes("--tsx")) {
    delete process.env.VMNET_OPERATOR_BUNDLE;
    return "tsx (node --import tsx pepr.ts)";
  }
  if (!process.env.VMNET_OPERATOR_BUNDLE) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmnet-bench-bundle-"));
    // Profiling keeps the bundle's line breaks, so profile-summary.ts can name the module of each line.
    process.env.VMNET_OPERATOR_BUNDLE = (await bundleOperator(dir, profiling ? { minifyWhitespace: false } : {})).files[0];
  }
  // The image's NODE_OPTIONS (hack/image/node-options.ts), unless --no-image-node-options.
  const flags = argv.includes("--no-image-node-options") ? [] : OPERATOR_NODE_OPTIONS;
  process.env.VMNET_OPERATOR_NODE_ARGS = [...flags, process.env.VMNET_OPERATOR_NODE_ARGS ?? ""].filter(Boolean).join(" ");
  return `bundle (${process.env.VMNET_OPERATOR_BUNDLE} under plain node ${flags.join(" ") || "without the image's flags"}, as in the image${profiling ? "; whitespace kept for profiling" : ""})`;
}
