// In-memory copies of the objects the operator reasons about, filled from a List at start,
// kept by watch events and replaced whole by periodic relists (the cluster is the source of truth).
/** Any object with Kubernetes metadata: our CRD classes, KubeVirt kinds, core objects. */
export interface HasMeta {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export const keyOf = (obj: HasMeta): string =>
  obj.metadata?.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : String(obj.metadata?.name);

/** resourceVersion as a number, for "is this event older than what we hold" checks. */
const rv = (obj: HasMeta | undefined): number => Number(obj?.metadata?.resourceVersion ?? 0);

/**
 * Drops what the operator never reads but every object carries: managedFields (often the largest
 * part of an object) and the last-applied annotation. Memory per cached VM drops by half or more.
 */
function slim<T extends HasMeta>(obj: T): T {
  const meta = obj.metadata as (HasMeta["metadata"] & { managedFields?: unknown; annotations?: Record<string, string> }) | undefined;
  if (!meta) return obj;
  const { managedFields: _drop, ...rest } = meta;
  if (rest.annotations?.["kubectl.kubernetes.io/last-applied-configuration"]) {
    const { "kubectl.kubernetes.io/last-applied-configuration": _last, ...annotations } = rest.annotations;
    rest.annotations = annotations;
  }
  return { ...obj, metadata: rest };
}

export class ObjectCache<T extends HasMeta> {
  readonly #items = new Map<string, T>();
  /** Secondary indexes: name -> (index value -> object keys), so lookups by VM or pool are not scans. */
  readonly #indexes = new Map<string, { keyOf: (obj: T) => string | undefined; map: Map<string, Set<string>> }>();

  /** Adds an index; `by(name, value)` then returns the objects whose keyOf gives value. */
  index(name: string, indexKey: (obj: T) => string | undefined): this {
    const map = new Map<string, Set<string>>();
    this.#indexes.set(name, { keyOf: indexKey, map });
    for (const [key, obj] of this.#items) this.#link(key, obj, true);
    return this;
  }

  by(name: string, value: string): T[] {
    const keys = this.#indexes.get(name)?.map.get(value);
    return keys ? [...keys].map(k => this.#items.get(k)).filter((o): o is T => o !== undefined) : [];
  }

  #link(key: string, obj: T, add: boolean): void {
    for (const { keyOf: indexKey, map } of this.#indexes.values()) {
      const v = indexKey(obj);
      if (v === undefined) continue;
      const set = map.get(v) ?? new Set<string>();
      if (add) set.add(key);
      else set.delete(key);
      if (set.size) map.set(v, set);
      else map.delete(v);
    }
  }

  #set(key: string, obj: T): void {
    const prev = this.#items.get(key);
    if (prev) this.#link(key, prev, false);
    this.#items.set(key, obj);
    this.#link(key, obj, true);
  }

  #delete(key: string): boolean {
    const prev = this.#items.get(key);
    if (!prev) return false;
    this.#link(key, prev, false);
    return this.#items.delete(key);
  }
  /** Seconds-since-epoch of the last event or relist: watch staleness is measured from it. */
  lastEventAt = 0;

  get size(): number {
    return this.#items.size;
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  values(): IterableIterator<T> {
    return this.#items.values();
  }

  keys(): IterableIterator<string> {
    return this.#items.keys();
  }

  /** Applies a watch ADDED/MODIFIED event; ignores one older than the copy held. Returns whether it changed. */
  upsert(obj: T): boolean {
    this.lastEventAt = Date.now() / 1000;
    const key = keyOf(obj);
    const held = this.#items.get(key);
    if (held && rv(held) >= rv(obj) && held.metadata?.uid === obj.metadata?.uid) return false;
    this.#set(key, slim(obj));
    return true;
  }

  remove(obj: T): boolean {
    this.lastEventAt = Date.now() / 1000;
    const key = keyOf(obj);
    const held = this.#items.get(key);
    // A DELETED event for an older incarnation must not drop a re-created object.
    if (held && held.metadata?.uid !== obj.metadata?.uid && rv(held) > rv(obj)) return false;
    return this.#delete(key);
  }

  /** Replaces everything with a fresh List; returns the keys that changed or vanished. */
  replace(items: T[]): string[] {
    this.lastEventAt = Date.now() / 1000;
    const changed: string[] = [];
    const next = new Map(items.map(i => [keyOf(i), slim(i)]));
    for (const [key, held] of this.#items) {
      const fresh = next.get(key);
      if (!fresh || fresh.metadata?.resourceVersion !== held.metadata?.resourceVersion) changed.push(key);
    }
    for (const key of next.keys()) if (!this.#items.has(key)) changed.push(key);
    for (const key of [...this.#items.keys()]) this.#delete(key);
    for (const [k, v] of next) this.#set(k, v);
    return changed;
  }
}
