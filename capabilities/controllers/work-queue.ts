// Our own work queue on top of Pepr's watch events. Pepr 1.1.4 drops a watch callback that fails,
// so callbacks only enqueue a key here; this queue coalesces repeated keys, never runs one key
// twice at once, and retries failures with exponential backoff and jitter until they succeed.

export type Handler = (key: string) => Promise<void>;

export interface WorkQueueOptions {
  concurrency?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called when a key fails; the key is retried after the returned delay. */
  onError?: (key: string, err: unknown, attempt: number) => void;
}

export class WorkQueue {
  readonly #handler: Handler;
  readonly #concurrency: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #onError: WorkQueueOptions["onError"];
  /** Keys waiting to run, in arrival order; a Set coalesces repeats. */
  readonly #pending = new Set<string>();
  /** Keys running now; a key enqueued while running is re-run once afterwards. */
  readonly #running = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #idleWaiters: (() => void)[] = [];
  #stopped = false;

  constructor(handler: Handler, opts: WorkQueueOptions = {}) {
    this.#handler = handler;
    this.#concurrency = opts.concurrency ?? 8;
    this.#baseDelayMs = opts.baseDelayMs ?? 100;
    this.#maxDelayMs = opts.maxDelayMs ?? 30_000;
    this.#onError = opts.onError;
  }

  /** Keys waiting or backing off: what the queue-depth metric reports. */
  get depth(): number {
    return this.#pending.size + this.#timers.size;
  }

  add(key: string): void {
    if (this.#stopped) return;
    if (this.#running.has(key)) {
      this.#dirty.add(key);
      return;
    }
    const timer = this.#timers.get(key);
    if (timer) {
      // A fresh event beats a pending retry: run now, keep the failure count for the backoff.
      clearTimeout(timer);
      this.#timers.delete(key);
    }
    this.#pending.add(key);
    this.#pump();
  }

  /** Resolves when nothing is pending, running or backing off. */
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
      const key = this.#pending.values().next().value as string;
      this.#pending.delete(key);
      this.#running.add(key);
      void this.#run(key);
    }
    if (this.#isIdle()) this.#idleWaiters.splice(0).forEach(r => r());
  }

  async #run(key: string): Promise<void> {
    try {
      await this.#handler(key);
      this.#failures.delete(key);
    } catch (err) {
      const attempt = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, attempt);
      this.#onError?.(key, err, attempt);
      this.#retryLater(key, attempt);
    } finally {
      this.#running.delete(key);
      if (this.#dirty.delete(key) && !this.#timers.has(key)) this.#pending.add(key);
      this.#pump();
    }
  }

  #retryLater(key: string, attempt: number): void {
    if (this.#stopped) return;
    const exp = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
    const delay = exp / 2 + Math.random() * (exp / 2); // jitter: spread retries of a burst
    this.#dirty.delete(key);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.#pending.add(key);
      this.#pump();
    }, delay);
    timer.unref();
    this.#timers.set(key, timer);
  }
}
