// Pepr wiring for the controllers: watch events go to the operator, which updates its caches and
// enqueues work. Handlers only enqueue, so Pepr dropping a failed callback cannot lose work.
// (In an admission-only process Pepr runs no watches; the operator then watches by itself.)
// One binding per watched kind and phase, from the table of watched kinds (watched.ts).
import { Capability } from "pepr";
import { HasMeta } from "../k8s/cache";
import { operator } from "./operator";
import { MANAGED_SELECTOR, Phase, Watched, WATCHED } from "./watched";

export const Controllers = new Capability({
  name: "vmnet-controllers",
  description: "Binds fixed addresses to VM NICs, keeps pool status, releases addresses of deleted VMs",
});

const { When } = Controllers;

const forward =
  (w: Watched, phase: Phase) =>
  async (obj: HasMeta): Promise<void> =>
    (await operator()).onEvent(w.kind, phase, obj);

/** Pepr's binding of a kind's events (created or updated, or deleted), filtered by our label when the kind says so. */
function bind(w: Watched, phase: Phase): void {
  const when = phase === "DELETED" ? When(w.model).IsDeleted() : When(w.model).IsCreatedOrUpdated();
  const filtered = w.managedOnly ? when.WithLabel(MANAGED_SELECTOR.key, MANAGED_SELECTOR.value) : when;
  filtered.Watch(forward(w, phase));
}

for (const w of WATCHED) {
  bind(w, "MODIFIED");
  if (w.deletes) bind(w, "DELETED");
}
