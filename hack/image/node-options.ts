// The Node flags the operator image runs with. They go on node's command line: the image's
// entrypoint and the manifests' `command` (hack/install/objects.ts), not NODE_OPTIONS, because
// Node refuses V8 flags outside its NODE_OPTIONS allow-list ("--optimize-for-size is not allowed
// in NODE_OPTIONS"), and an image-wide NODE_OPTIONS would reach every `node` run in the image
// (the e2e metrics scrape pod, `ctr run ... node -e`). `npm run bench` runs the bundle with the
// same flags, so its memory figures are the image's.
// Why each flag, with the figures: BENCHMARKS.md, issue 15 (memory).
export const OPERATOR_NODE_OPTIONS: readonly string[] = [
  // V8's young generation is three semi-spaces (16 MiB each by default on x64): a bind burst fills
  // them with short-lived JSON; smaller ones are scavenged more often and stay resident smaller.
  "--max-semi-space-size=4",
  // V8 then grows the old generation by a small factor and runs its memory reducer, so the garbage
  // of a bind burst is collected soon after instead of staying resident (by default the heap only
  // shrinks once it meets a limit far above what the operator holds). At 200 VMs: RSS 3 s after
  // the last bind 118-125 MiB instead of 147-156, heap used 33-35 MiB instead of 62-64, for
  // about 10% more CPU during the binds (BENCHMARKS.md, issue 15, memory, 2026-12-02 15:20 UTC).
  "--optimize-for-size",
];
