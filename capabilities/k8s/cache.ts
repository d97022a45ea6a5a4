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
 * part of an object) and the last-applied annotation. The default projection of a cache.
 */
export function slim<T extends HasMeta>(obj: T): T {
  const meta = obj.metadata as (HasMeta["metadata"] & { managedFields?: unknown; annotations?: Record<string, string> }) | undefined;
  if (!meta) return obj;
  const { managedFields: _drop, ...rest } = meta;
  if (rest.annotations?.["kubectl.kubernetes.io/last-applied-configuration"]) {
    const { "kubectl.kubernetes.io/last-applied-configuration": _last, ...annotations } = rest.annotations;
    rest.annotations = annotations;
  }
  return { ...obj, metadata: rest };
}

/** What a cache keeps of an object: a new object with only the fields the operator reads (idempotent). */
export type Projection<T> = (obj: T) => T;

export class ObjectCache<T extends HasMeta> {
  readonly #items = new Map<string, T>();

  /** Every object enters through `project`: the cache holds projections only, never what it was given. */
  constructor(readonly project: Projection<T> = slim) {}
  /**
   * Secondary indexes: name -> (index value -> object keys), so lookups by VM or pool are not
   * scans. Most values have one object (a VM's claims, a claim's allocation): those hold the key
   * itself, and a Set only once a second key joins (a Set per VM would cost more than the VM).
   */
  readonly #indexes = new Map<string, { keyOf: (obj: T) => string | undefined; map: IndexMap }>();

  /** Adds an index; `by(name, value)` then returns the objects whose keyOf gives value. */
  index(name: string, indexKey: (obj: T) => string | undefined): this {
    const map: IndexMap = new Map();
    this.#indexes.set(name, { keyOf: indexKey, map });
    for (const [key, obj] of this.#items) this.#link(key, obj, true);
    return this;
  }

  by(name: string, value: string): T[] {
    const keys = this.#indexes.get(name)?.map.get(value);
    if (keys === undefined) return [];
    return (typeof keys === "string" ? [keys] : [...keys]).map(k => this.#items.get(k)).filter((o): o is T => o !== undefined);
  }

  /** How many objects `by(name, value)` would return, without building them: O(1), for metrics and status counts. */
  count(name: string, value: string): number {
    const keys = this.#indexes.get(name)?.map.get(value);
    return keys === undefined ? 0 : typeof keys === "string" ? 1 : keys.size;
  }

  #link(key: string, obj: T, add: boolean): void {
    for (const { keyOf: indexKey, map } of this.#indexes.values()) {
      const v = indexKey(obj);
      if (v !== undefined) (add ? addKey : removeKey)(map, v, key);
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
    this.#set(key, this.project(obj));
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

  /**
   * Replaces everything with a fresh List; returns the keys that changed or vanished. With the
   * List's resourceVersion, what the cache holds that is newer than the List (our own writes, or
   * watch events that overtook it) is kept: a List taken before a create must not drop the
   * created object, or the next reconcile would create it again.
   */
  replace(items: T[], listResourceVersion?: string): string[] {
    this.lastEventAt = Date.now() / 1000;
    const changed: string[] = [];
    const next = new Map(items.map(i => [keyOf(i), this.project(i)]));
    const listRv = Number(listResourceVersion ?? 0);
    for (const [key, held] of this.#items) {
      const fresh = next.get(key);
      if (newerThanList(held, fresh, listRv)) next.set(key, held);
      else if (fresh?.metadata?.resourceVersion !== held.metadata?.resourceVersion) changed.push(key);
    }
    for (const key of next.keys()) if (!this.#items.has(key)) changed.push(key);
    for (const key of [...this.#items.keys()]) this.#delete(key);
    for (const [k, v] of next) this.#set(k, v);
    return changed;
  }
}

/** The held copy is newer than what a List at listRv shows (a same-uid newer copy, or one made after the List). */
function newerThanList(held: HasMeta, fresh: HasMeta | undefined, listRv: number): boolean {
  if (fresh) return rv(held) > rv(fresh) && held.metadata?.uid === fresh.metadata?.uid;
  return listRv > 0 && rv(held) > listRv;
}

type IndexMap = Map<string, string | Set<string>>;

function addKey(map: IndexMap, value: string, key: string): void {
  const held = map.get(value);
  if (held === undefined || held === key) map.set(value, key);
  else if (typeof held === "string") map.set(value, new Set([held, key]));
  else held.add(key);
}

function removeKey(map: IndexMap, value: string, key: string): void {
  const held = map.get(value);
  if (held === key) map.delete(value);
  else if (typeof held === "object" && held.delete(key) && held.size <= 1) {
    if (held.size === 1) map.set(value, [...held][0]);
    else map.delete(value);
  }
}
