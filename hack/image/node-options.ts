// The Node flags the operator image runs with. They go into the image's NODE_OPTIONS (not its
// entrypoint), so the manifests' `command: ["node", "/app/module.js"]` gets them as well, and
// `npm run bench` runs the bundle with the same flags, so its memory figures are the image's.
// Why each flag, with the figures: BENCHMARKS.md, issue 15 (memory).
export const OPERATOR_NODE_OPTIONS: readonly string[] = [
  // V8's young generation is three semi-spaces (16 MiB each by default on x64): a bind burst fills
  // them with short-lived JSON; smaller ones are scavenged more often and stay resident smaller.
  "--max-semi-space-size=4",
];
