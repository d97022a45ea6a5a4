// The controllers as a Pepr capability. It has no bindings: the operator's own informers
// (k8s/informer.ts, started by the runtime in every mode) feed its caches with projections of
// the objects, where Pepr's Watch bindings would each keep full copies of every object in a
// watch cache of their own (two per kind: created-or-updated and deleted) on top of ours.
import { Capability } from "pepr";

export const Controllers = new Capability({
  name: "vmnet-controllers",
  description: "Binds fixed addresses to VM NICs, keeps pool status, releases addresses of deleted VMs",
});
