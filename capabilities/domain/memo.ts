// A bounded memo of a pure function of a text, for the parses the admission rules repeat on every
// review (a pool's CIDR, a NAD's CNI config): the same few texts come back thousands of times a
// second. Bounded in entries and in key length, oldest out first, so texts from hostile reviews
// cannot grow it; a text past the length bound is computed each time and not kept. Values are
// shared by every caller: keep them immutable (freeze objects). Pure (its state is a cache only).
export class TextMemo<V> {
  readonly #values = new Map<string, V>();

  constructor(
    readonly maxEntries: number,
    readonly maxKeyChars: number,
  ) {}

  get(text: string, compute: (text: string) => V): V {
    if (underMutationTesting()) return compute(text);
    if (this.#values.has(text)) return this.#values.get(text) as V;
    const value = compute(text);
    if (text.length > this.maxKeyChars) return value;
    if (this.#values.size >= this.maxEntries) this.#values.delete(this.#values.keys().next().value as string);
    this.#values.set(text, value);
    return value;
  }

  get size(): number {
    return this.#values.size;
  }
}

/**
 * Stryker switches mutants inside one loaded program (its global __stryker__ names the active
 * one), so a memo would carry a result computed under one mutant into the runs of the next (a
 * mutant of ipam's parser hidden, or a later one "killed" by a stale value): no memo then.
 */
function underMutationTesting(): boolean {
  return (globalThis as { __stryker__?: unknown }).__stryker__ !== undefined;
}
