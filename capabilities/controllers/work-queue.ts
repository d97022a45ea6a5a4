// Our own work queue on top of the watch events. Pepr 1.1.4 drops a watch callback that fails,
// so callbacks only enqueue a key here; this queue coalesces repeated keys (by their id), never
// runs one key twice at once, and acts on what the reconcile answers (reconcile.ts):
// - done: the key's failures are forgotten;
// - requeue after N ms: run again then (no failure: the backoff starts afresh);
// - a terminal error (returned, or thrown and classified so): reported once, not retried; a new
//   event for the key runs it again;
// - any other thrown error: retried with per-key exponential backoff and jitter until it passes.
import { classify, Result, TerminalError } from "./reconcile";

export type Handler<K> = (key: K) => Promise<Result | void>;

export interface WorkQueueOptions<K> {
  concurrency?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** The identity of a key: equal ids are one piece of work. Default String(key). */
  id?: (key: K) => string;
  /** Called when a key fails with a retryable error; the key is retried after a backoff. */
  onError?: (key: K, err: unknown, attempt: number) => void;
  /**
   * Called once when a key ends in a terminal error (not again for the same message until the
   * key succeeds or fails otherwise); the key is not retried. Default: onError with attempt 0.
   */
  onTerminal?: (key: K, err: TerminalError) => void;
}

type Outcome = { kind: "done" } | { kind: "later"; ms: number; failed: boolean } | { kind: "stop" };

export class WorkQueue<K = string> {
  readonly #handler: Handler<K>;
  readonly #concurrency: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #id: (key: K) => string;
  readonly #onError: WorkQueueOptions<K>["onError"];
  readonly #onTerminal: (key: K, err: TerminalError) => void;
  /** Keys waiting to run, in arrival order, by id: a Map coalesces repeats. */
  readonly #pending = new Map<string, K>();
  /** Keys running now; a key enqueued while running is re-run once afterwards. */
  readonly #running = new Set<string>();
  readonly #dirty = new Map<string, K>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** The last terminal message reported per key: the same one is not reported again. */
  readonly #reported = new Map<string, string>();
  readonly #idleWaiters: (() => void)[] = [];
  #stopped = false;

  constructor(handler: Handler<K>, opts: WorkQueueOptions<K> = {}) {
    this.#handler = handler;
    this.#concurrency = opts.concurrency ?? 8;
    this.#baseDelayMs = opts.baseDelayMs ?? 100;
    this.#maxDelayMs = opts.maxDelayMs ?? 30_000;
    this.#id = opts.id ?? String;
    this.#onError = opts.onError;
    this.#onTerminal = opts.onTerminal ?? ((key, err): void => this.#onError?.(key, err, 0));
  }

  /** Keys waiting or backing off: what the queue-depth metric reports. */
  get depth(): number {
    return this.#pending.size + this.#timers.size;
  }

  /** Failed attempts of a key since it last passed (0: none): what its next backoff grows from. */
  failures(key: K): number {
    return this.#failures.get(this.#id(key)) ?? 0;
  }

  add(key: K): void {
    if (this.#stopped) return;
    const id = this.#id(key);
    if (this.#running.has(id)) {
      this.#dirty.set(id, key);
      return;
    }
    const timer = this.#timers.get(id);
    if (timer) {
      // A fresh event beats a pending retry: run now, keep the failure count for the backoff.
      clearTimeout(timer);
      this.#timers.delete(id);
    }
    this.#pending.set(id, key);
    this.#pump();
  }

  /** Resolves when nothing is pending, running or waiting for a retry or a requeue. */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise(resolve => this.#idleWaiters.push(resolve));
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#pending.clear();
  }

  #isIdle(): boolean {
    return this.#pending.size === 0 && this.#running.size === 0 && this.#timers.size === 0;
  }

  #pump(): void {
    while (this.#running.size < this.#concurrency && this.#pending.size > 0) {
      const [id, key] = this.#pending.entries().next().value as [string, K];
      this.#pending.delete(id);
      this.#running.add(id);
      void this.#run(id, key);
    }
    if (this.#isIdle()) this.#idleWaiters.splice(0).forEach(r => r());
  }

  async #run(id: string, key: K): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = this.#settled(id, key, (await this.#handler(key)) ?? { kind: "done" });
    } catch (err) {
      outcome = this.#failed(id, key, err);
    }
    this.#running.delete(id);
    this.#next(id, key, outcome);
    this.#pump();
  }

  /** What a returned Result means for the key. */
  #settled(id: string, key: K, result: Result): Outcome {
    if (result.kind === "terminal") return this.#terminal(id, key, result.error);
    this.#failures.delete(id);
    this.#reported.delete(id);
    return result.kind === "requeue" ? { kind: "later", ms: Math.max(0, result.afterMs), failed: false } : { kind: "done" };
  }

  /** A thrown error: terminal ones are reported, the rest back off. */
  #failed(id: string, key: K, err: unknown): Outcome {
    const sorted = classify(err);
    if (sorted instanceof TerminalError) return this.#terminal(id, key, sorted);
    const attempt = (this.#failures.get(id) ?? 0) + 1;
    this.#failures.set(id, attempt);
    this.#reported.delete(id);
    this.#onError?.(key, err, attempt);
    return { kind: "later", ms: this.#backoff(attempt), failed: true };
  }

  #terminal(id: string, key: K, err: TerminalError): Outcome {
    this.#failures.delete(id);
    if (this.#reported.get(id) !== err.message) {
      this.#reported.set(id, err.message);
      this.#onTerminal(key, err);
    }
    return { kind: "stop" };
  }

  /** Schedules the key's next run: at once when an event came while it ran (unless it failed), else as the outcome says. */
  #next(id: string, key: K, outcome: Outcome): void {
    const dirty = this.#dirty.get(id);
    this.#dirty.delete(id);
    if (outcome.kind === "later" && outcome.failed) return this.#later(id, key, outcome.ms);
    if (dirty !== undefined) {
      this.#pending.set(id, dirty);
      return;
    }
    if (outcome.kind === "later") this.#later(id, key, outcome.ms);
  }

  /** Exponential in the attempt, capped, with jitter: retries of a burst spread out. */
  #backoff(attempt: number): number {
    const exp = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
    return exp / 2 + Math.random() * (exp / 2);
  }

  #later(id: string, key: K, ms: number): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(id);
      this.#pending.set(id, key);
      this.#pump();
    }, ms);
    timer.unref();
    this.#timers.set(id, timer);
  }
}
