// Preloaded by .mocharc.mutation.json only (npm run test:mutation). Under mutation testing a
// surviving mutant re-runs every property test that covers it; on a shared 2-core machine the
// full runs (up to 2000 cases, 14 s for the allocator model) made one run of the ipam folder take
// over an hour. Each property now stops after 500 ms (VMNET_MUTATION_PROPERTY_MS) and passes if no case failed
// by then (fast-check's interruptAfterTimeLimit, markInterruptAsFailure false): a mutant that only
// a rare case would catch can survive here and is then reported as a survivor, never hidden.
// `npm run test:unit` runs the properties in full.
require("fast-check").configureGlobal({ interruptAfterTimeLimit: Number(process.env.VMNET_MUTATION_PROPERTY_MS ?? 500) });
