// Kubernetes Events on the objects a person looks at (VMs, claims, pools), aggregated as
// client-go's core/v1 recorder does (tools/record, EventCorrelator): the same involved object,
// type, reason and message is one Event whose count rises, not a new Event per occurrence.
// Differences from client-go, on purpose:
// - the name is derived from that key (client-go uses a timestamp), so after a restart, or from
//   another process of the operator, a repeat finds and counts on the same Event;
// - repeats are written at most once per interval per Event (the count kept meanwhile), where
//   client-go patches every repeat until its spam filter drops them: a NIC that fails on every
//   reconcile costs one write per interval, and no occurrence is lost from the count.
// Best effort: an Event that cannot be written is logged, never allowed to fail the reconcile
// that emitted it.
import crypto from "node:crypto";
import { KubeApi } from "./client";
import { errorText, isAlreadyExists, isNotFound } from "./errors";
import { Kinds } from "./kinds";

/** The object an Event is about. The uid is required: `kubectl describe` selects Events by it. */
export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid: string };
}

export type EventType = "Normal" | "Warning";
export type EventSink = (target: EventTarget, type: EventType, reason: string, message: string) => void;

export const EVENT_COMPONENT = "vmnet-operator";
const MAX_MESSAGE = 1024;
const MAX_NAME = 253;
/** Entries remembered (client-go's LRU holds 4096 too); a forgotten one is found again by its name. */
const MAX_ENTRIES = 4096;

export interface CoreEvent {
  metadata: { name: string; namespace: string };
  involvedObject: { apiVersion: string; kind: string; name: string; namespace?: string; uid: string };
  type: EventType;
  reason: string;
  message: string;
  source: { component: string };
  reportingComponent: string;
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
}

/** What makes two Events one (client-go's getEventKey, less source.host and fieldPath, which we never set). Pure. */
export function eventKey(target: EventTarget, type: EventType, reason: string, message: string): string {
  const { apiVersion, kind } = target;
  const { namespace, name, uid } = target.metadata;
  return JSON.stringify([EVENT_COMPONENT, apiVersion, kind, namespace ?? "", name, uid, type, reason, clip(message)]);
}

/** `<object name>.<16 hex digits of the key's hash>`, a valid name for any object name. Pure. */
export function eventName(target: EventTarget, key: string): string {
  const hash = crypto.createHash("sha256").update(key).digest("hex").slice(0, 16);
  return `${target.metadata.name.slice(0, MAX_NAME - hash.length - 1)}.${hash}`;
}

/** The Event as first written. Pure. */
export function renderEvent(target: EventTarget, type: EventType, reason: string, message: string, now: string): CoreEvent {
  const { name, namespace, uid } = target.metadata;
  return {
    metadata: { name: eventName(target, eventKey(target, type, reason, message)), namespace: namespace ?? "default" },
    involvedObject: { apiVersion: target.apiVersion, kind: target.kind, name, ...(namespace ? { namespace } : {}), uid },
    type,
    reason,
    message: clip(message),
    source: { component: EVENT_COMPONENT },
    reportingComponent: EVENT_COMPONENT,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

function clip(message: string): string {
  return message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE) : message;
}

interface Entry {
  event: CoreEvent;
  /** Occurrences not yet written. */
  unwritten: number;
  /** Known to exist in the API server (created or found). */
  exists: boolean;
  lastWrite: number;
  timer?: NodeJS.Timeout;
  writing?: Promise<void>;
}

export interface RecorderOptions {
  /** Least time between two writes of one Event; repeats meanwhile only raise the count. */
  intervalMs?: number;
  now?: () => number;
}

export class EventRecorder {
  readonly #entries = new Map<string, Entry>();
  readonly #intervalMs: number;
  readonly #now: () => number;

  constructor(
    private readonly client: KubeApi,
    private readonly onError: (msg: string) => void,
    opts: RecorderOptions = {},
  ) {
    this.#intervalMs = opts.intervalMs ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  record(target: EventTarget, type: EventType, reason: string, message: string): void {
    const key = eventKey(target, type, reason, message);
    const now = this.#now();
    let entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key); // re-inserted below: the Map's order is least recently used first
      entry.unwritten++;
      entry.event.lastTimestamp = iso(now);
    } else {
      entry = { event: renderEvent(target, type, reason, message, iso(now)), unwritten: 1, exists: false, lastWrite: 0 };
    }
    this.#entries.set(key, entry);
    this.#evict();
    this.#schedule(entry, now);
  }

  /** Writes what is pending now (tests, shutdown). */
  async flush(): Promise<void> {
    for (const entry of this.#entries.values()) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.timer = undefined;
      await this.#write(entry);
    }
  }

  #schedule(entry: Entry, now: number): void {
    if (entry.timer) return; // a write is due already and takes this occurrence along
    const wait = Math.max(0, entry.lastWrite + this.#intervalMs - now);
    if (wait === 0 && !entry.writing) return void this.#write(entry);
    entry.timer = setTimeout(
      () => {
        entry.timer = undefined;
        void this.#write(entry);
      },
      Math.max(wait, 1),
    );
    entry.timer.unref();
  }

  /** One write at a time per Event; occurrences that arrive meanwhile are written by the next. */
  async #write(entry: Entry): Promise<void> {
    if (entry.writing) {
      await entry.writing;
      if (entry.unwritten) this.#schedule(entry, this.#now());
      return;
    }
    if (!entry.unwritten) return;
    entry.writing = this.#send(entry)
      .catch(err =>
        this.onError(
          `event ${entry.event.reason} on ${entry.event.involvedObject.kind} ${entry.event.metadata.namespace}/${entry.event.involvedObject.name}: ${errorText(err)}`,
        ),
      )
      .finally(() => {
        entry.writing = undefined;
        entry.lastWrite = this.#now();
      });
    await entry.writing;
  }

  async #send(entry: Entry): Promise<void> {
    const ev = entry.event;
    const taken = entry.unwritten;
    if (!entry.exists) {
      ev.count += taken - 1; // a fresh entry's event says count 1 for its first occurrence
      entry.unwritten = 0;
      try {
        await this.client.create(Kinds.Event, ev);
        entry.exists = true;
        return;
      } catch (err) {
        if (!isAlreadyExists(err)) {
          entry.unwritten += taken; // not written: the next occurrence tries again with them
          ev.count -= taken - 1;
          throw err;
        }
      }
      // Written before, by an earlier process or another replica: count on from there.
      const live = await this.client.getOrUndefined<CoreEvent>(Kinds.Event, ev.metadata.name, ev.metadata.namespace);
      entry.exists = true;
      ev.count = (live?.count ?? 0) + taken;
      ev.firstTimestamp = live?.firstTimestamp ?? ev.firstTimestamp;
    } else {
      ev.count += taken;
      entry.unwritten = 0;
    }
    try {
      await this.client.mergePatch(Kinds.Event, ev.metadata.name, ev.metadata.namespace, {
        count: ev.count,
        lastTimestamp: ev.lastTimestamp,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // Expired (the API server's event TTL) or deleted: create it again with the count so far.
      await this.client.create(Kinds.Event, ev);
    }
  }

  #evict(): void {
    while (this.#entries.size > MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest); // a pending timer still writes it
    }
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function eventRecorder(client: KubeApi, onError: (msg: string) => void, opts: RecorderOptions = {}): EventSink {
  const recorder = new EventRecorder(client, onError, opts);
  return (target, type, reason, message) => recorder.record(target, type, reason, message);
}

/** The target of an Event about an object as read from the API server (which always gives it a uid). */
export function eventTarget(
  apiVersion: string,
  kind: string,
  obj: { metadata?: { name?: string; namespace?: string; uid?: string } },
): EventTarget {
  const meta = obj.metadata ?? {};
  return { apiVersion, kind, metadata: { name: String(meta.name), namespace: meta.namespace, uid: String(meta.uid ?? "") } };
}
