// The operator as one JavaScript file: pepr.ts and everything it imports (Pepr, the Kubernetes
// clients, our capabilities) bundled by esbuild for plain `node`, so the image carries no
// node_modules, no TypeScript and no tsx.
import fs from "node:fs";
import path from "node:path";
import { build, BuildOptions, Message, Plugin } from "esbuild";

const ROOT = path.join(__dirname, "..", "..");

/** esbuild reported something that would break or change the bundle at run time. */
export class BundleError extends Error {
  constructor(readonly messages: Message[]) {
    super(`esbuild: ${messages.map(m => `${m.location ? `${m.location.file}:${m.location.line}: ` : ""}${m.text}`).join("; ")}`);
  }
}

export interface Bundle {
  /** module.js and module.js.LEGAL.txt */
  files: string[];
  /** Every input file, relative to the repository root (for the "no tsx" check). */
  inputs: string[];
}

/**
 * How our code is bundled for plain `node` (this image and the one-file kubectl plugin,
 * hack/build-plugin.ts): one home for the settings both rely on.
 */
export const NODE_BUNDLE = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  // kubernetes-fluent-client derives a kind from its model class's name, and Pepr's own build
  // keeps names for the same reason: renaming classes would break watches and requests.
  keepNames: true,
  // Smaller and faster to parse; identifiers stay, so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "silent",
} as const satisfies BuildOptions;

/**
 * Packages the operator's bundle replaces by Node's built-in, with why; each is imported at start,
 * so without this its code and tables sit in every operator's heap (BENCHMARKS.md, issue 15 memory).
 */
export const BUILTIN_INSTEAD: Readonly<Record<string, string>> = {
  // node-fetch 2 (under @kubernetes/client-node) reads `Url.URL || whatwgUrl.URL`: Node's URL is
  // always there, so the fallback's tr46 tables (about 1.5 MiB of heap) were built and never used.
  "whatwg-url": 'module.exports = { URL: require("node:url").URL, URLSearchParams: require("node:url").URLSearchParams };',
};

/** Resolves each package of BUILTIN_INSTEAD to its few lines instead of the package. */
function builtinInstead(): Plugin {
  const names = Object.keys(BUILTIN_INSTEAD);
  return {
    name: "builtin-instead",
    setup(b) {
      const filter = new RegExp(`^(${names.join("|").replace(/\./g, "\\.")})$`);
      b.onResolve({ filter }, args => ({ path: args.path, namespace: "builtin-instead" }));
      b.onLoad({ filter: /.*/, namespace: "builtin-instead" }, args => ({ contents: BUILTIN_INSTEAD[args.path], loader: "js" }));
    },
  };
}

/** `overrides`: for profiling only (the benchmarks keep whitespace so a profile names each module's lines). */
export async function bundleOperator(outDir: string, overrides: Pick<BuildOptions, "minifyWhitespace"> = {}): Promise<Bundle> {
  fs.mkdirSync(outDir, { recursive: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ["pepr.ts"],
    outfile: path.join(outDir, "module.js"),
    ...NODE_BUNDLE,
    ...overrides,
    // The bundled packages' licence notices, shipped beside the bundle.
    legalComments: "external",
    metafile: true,
    plugins: [builtinInstead()],
    // Left out on purpose (each is loaded only on a path the operator does not take):
    // - pino transports (worker threads loading pino-pretty by path): only with
    //   PEPR_PRETTY_LOGS=true, which the image does not support; logs are JSON lines.
    // - ws's optional native helpers bufferutil/utf-8-validate and node-fetch's optional
    //   `encoding`: required inside try/catch, with pure-JavaScript fallbacks.
    // esbuild warns about any other require it cannot resolve; such a warning fails the build.
  });
  const problems = [...result.errors, ...result.warnings];
  if (problems.length) throw new BundleError(problems);
  return {
    files: ["module.js", "module.js.LEGAL.txt"].map(f => path.join(outDir, f)).filter(f => fs.existsSync(f)),
    inputs: Object.keys(result.metafile?.inputs ?? {}),
  };
}
