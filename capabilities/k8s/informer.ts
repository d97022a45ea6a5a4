// One watch per kind that feeds an ObjectCache: a paged List, then a watch from the List's
// resourceVersion, with bookmarks; a watch that ends is resumed from the last resourceVersion
// seen, and one the API server no longer can resume (410 Gone) starts over with a List. Each
// event is parsed once and handed on; the cache keeps only its projection, so no full copy of
// any object outlives its event (kubernetes-fluent-client's watcher, which Pepr's bindings use,
// keeps every object whole in a cache of its own, one per binding).
import { ApiError } from "./errors";
import { KubeClient } from "./client";
import { KindRef } from "./kinds";

export type WatchPhase = "ADDED" | "MODIFIED" | "DELETED";

export interface InformerSink<T> {
  /** A watch event. */
  event(phase: WatchPhase, obj: T): void;
  /** A complete List (at start, after 410 Gone, on relist()): every item, and the List's resourceVersion. */
  listed(items: T[], resourceVersion: string): void;
}

export interface InformerOptions {
  labelSelector?: string;
  /** Items per List page. */
  pageSize?: number;
  /** Called with what went wrong before a retry (the informer never gives up). */
  onError?: (err: unknown) => void;
  /** Applied to each List item as its page arrives, so only projections wait for listed(). */
  project?: (obj: unknown) => unknown;
}

interface WatchEventLine {
  type: WatchPhase | "BOOKMARK" | "ERROR";
  object: { metadata?: { resourceVersion?: string }; code?: number; message?: string };
}

/** The API server answered 410: the resourceVersion is too old to resume from. */
export class ResourceExpiredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResourceExpiredError";
  }
}

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms).unref());

export class Informer<T> {
  #resourceVersion = "";
  #abort = new AbortController();
  #stopped = false;
  #relistWanted = false;
  /** When the watch last delivered anything (events and bookmarks). */
  lastHeardAt = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly kind: KindRef,
    private readonly sink: InformerSink<T>,
    private readonly opts: InformerOptions = {},
  ) {}

  /** Lists once (resolves when the cache is filled), then keeps watching in the background. */
  async start(): Promise<void> {
    await this.#list();
    void this.#loop();
  }

  stop(): void {
    this.#stopped = true;
    this.#abort.abort();
  }

  /**
   * A fresh List now. The watch keeps going: the cache ignores any event older than what it
   * holds, so list and watch agree whichever is ahead.
   */
  async relist(): Promise<void> {
    await this.#list();
  }

  /** Drops the current watch connection; the loop opens a new one (for a watch gone silent). */
  restartWatch(): void {
    this.#restartWatch();
  }

  #restartWatch(): void {
    const old = this.#abort;
    this.#abort = new AbortController();
    old.abort();
  }

  async #list(): Promise<void> {
    const items: T[] = [];
    const project = this.opts.project;
    const rv = await this.client.listPages<unknown>(
      this.kind,
      { labelSelector: this.opts.labelSelector, limit: this.opts.pageSize },
      page => {
        for (const raw of page) items.push((project ? project(raw) : raw) as T);
      },
    );
    this.#resourceVersion = rv;
    this.lastHeardAt = Date.now();
    this.sink.listed(items, rv);
  }

  async #loop(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      try {
        if (this.#relistWanted) {
          this.#relistWanted = false;
          await this.#list();
        }
        await this.#watchOnce(this.#abort.signal);
        failures = 0;
      } catch (err) {
        if (this.#stopped) return;
        if (err instanceof ResourceExpiredError || (err instanceof ApiError && err.status === 410)) {
          this.#relistWanted = true;
          continue;
        }
        if (isAbort(err)) continue; // restartWatch() or relist()
        this.opts.onError?.(err);
        failures++;
        await sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)));
      }
    }
  }

  /** One watch connection, until the API server ends it (its timeout) or it fails. */
  async #watchOnce(signal: AbortSignal): Promise<void> {
    const query: Record<string, string> = {
      resourceVersion: this.#resourceVersion,
      allowWatchBookmarks: "true",
      // The API server ends the watch after this; resuming spreads reconnections over time.
      timeoutSeconds: String(240 + Math.floor(Math.random() * 120)),
    };
    if (this.opts.labelSelector) query.labelSelector = this.opts.labelSelector;
    const body = await this.client.watch(this.kind, query, signal);
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of body) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim()) this.#onLine(line);
      }
    }
  }

  #onLine(line: string): void {
    const ev = JSON.parse(line) as WatchEventLine;
    this.lastHeardAt = Date.now();
    if (ev.type === "ERROR") {
      if (ev.object.code === 410) throw new ResourceExpiredError(ev.object.message ?? "resource version too old");
      throw new ApiError(ev.object.code ?? 0, "WatchError", `watch ${this.kind.kind}: ${ev.object.message ?? "error event"}`, 0);
    }
    const rv = ev.object.metadata?.resourceVersion;
    if (rv) this.#resourceVersion = rv;
    if (ev.type === "BOOKMARK") return;
    this.sink.event(ev.type, ev.object as T);
  }
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === "AbortError" || (err.cause instanceof Error && err.cause.name === "AbortError"));
}
