// The one thin layer between vmnet-operator and the Kubernetes API for writes and reads.
// Why not kubernetes-fluent-client for these: it re-reads the kubeconfig and opens a new TLS
// connection on every call and applies under a fixed field manager. Here one keep-alive pool is
// shared, server-side apply uses our own field manager, and 429/5xx/connection errors are retried
// with backoff in one place. Watches and paged lists serve the informers (informer.ts).
import { KubeConfig } from "@kubernetes/client-node";
import https from "node:https";
import tls from "node:tls";
import { Agent, fetch } from "undici";
import { ApiError, isNotFound } from "./errors";
import { KindRef, resourcePath } from "./kinds";

export const FIELD_MANAGER = "vmnet-operator";

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * What the controllers, the binder and the Event recorder ask of the API server: our own small
 * seam, so they run against the HTTP client (KubeClient) in the product and against the in-memory
 * one (memory-client.ts) in unit tests. Failures are the typed ApiErrors of errors.ts
 * (NotFoundError, AlreadyExistsError, ConflictError, InvalidError, ...).
 */
export interface KubeApi {
  get<T>(kind: KindRef, name: string, namespace?: string): Promise<T>;
  /** undefined on NotFound instead of throwing. */
  getOrUndefined<T>(kind: KindRef, name: string, namespace?: string): Promise<T | undefined>;
  list<T>(kind: KindRef, opts?: ListOptions): Promise<{ items: T[]; resourceVersion: string }>;
  /** AlreadyExistsError when an object of that name exists. */
  create<T>(kind: KindRef, obj: T): Promise<T>;
  /** Server-side apply of an object we render whole, under our field manager. */
  apply<T>(kind: KindRef, obj: T, opts?: { subresource?: "status"; force?: boolean }): Promise<T>;
  /** JSON merge patch; a metadata.resourceVersion in the patch is a precondition (ConflictError). */
  mergePatch<T>(kind: KindRef, name: string, namespace: string | undefined, patch: unknown, subresource?: "status"): Promise<T>;
  /** JSON patch; a failed `test` op is refused (InvalidError, as the API server answers 422). */
  jsonPatch<T>(kind: KindRef, name: string, namespace: string | undefined, ops: unknown[]): Promise<T>;
  /** NotFound counts as done; a uid precondition that fails is a ConflictError. */
  delete(kind: KindRef, name: string, namespace?: string, opts?: { uid?: string; propagationPolicy?: string }): Promise<void>;
}

interface RequestSpec {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  contentType?: string;
  /** What the call is about, for error messages: "create IPAllocation pool-a.10-0-0-1". */
  what: string;
}

// Overload and restarts: retried patiently. A 500 is often permanent (a bad patch), so only twice.
const RETRYABLE = new Set([429, 503, 504]);
const RETRYABLE_BRIEFLY = new Set([500, 502]);
/** Methods that write: each carries fieldManager=vmnet-operator (without it the API server names the manager after the User-Agent). */
const WRITE_METHODS = new Set(["POST", "PUT", "PATCH"]);
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

export class KubeClient implements KubeApi {
  readonly server: string;
  readonly #agent: Agent;
  /** Watches hold their connection for minutes: a pool of their own, so they never take one from writes. */
  readonly #watchAgent: Agent;
  readonly #headers: Record<string, string>;
  /** Told of every write (verb and kind): the metrics count them, so benchmarks can report writes per VM. */
  onWrite?: (verb: string, kind: string) => void;
  /** Told of every retried answer (HTTP status, 0 for a failed connection): the metrics count them. */
  onRetry?: (status: number) => void;
  maxAttempts = 8;

  private constructor(server: string, agent: Agent, watchAgent: Agent, headers: Record<string, string>) {
    this.server = server.replace(/\/$/, "");
    this.#agent = agent;
    this.#watchAgent = watchAgent;
    this.#headers = headers;
  }

  /**
   * Reads KUBECONFIG (or in-cluster config) once, or the kubeconfig file given; `context` picks a
   * context other than the current one.
   */
  static async fromDefault(connections = 32, kubeconfigFile?: string, context?: string): Promise<KubeClient> {
    const kc = new KubeConfig();
    if (kubeconfigFile) kc.loadFromFile(kubeconfigFile);
    else kc.loadFromDefault();
    if (context !== undefined) {
      if (!kc.getContextObject(context))
        throw new Error(
          `context "${context}" is not in the kubeconfig (contexts: ${
            kc
              .getContexts()
              .map(c => c.name)
              .join(", ") || "none"
          })`,
        );
      kc.setCurrentContext(context);
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("no current cluster in the kubeconfig: set KUBECONFIG or run in a pod");
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    // The User-Agent also names us where a request has no fieldManager (kube-apiserver falls back to it).
    const headers: Record<string, string> = { Accept: "application/json", "User-Agent": `${FIELD_MANAGER}/v1` };
    const auth = (opts.headers as Record<string, string> | undefined)?.Authorization;
    if (auth) headers.Authorization = auth;
    // One secure context for every connection: without it each new connection (the request pool's
    // and every watch's) parses the CA, certificate and key again (createSecureContext was 1.3%
    // of the operator's CPU in a 1,000-VM profile).
    const secureContext = tls.createSecureContext({ ca: opts.ca as string, cert: opts.cert as string, key: opts.key as string });
    const connect = { secureContext, rejectUnauthorized: !cluster.skipTLSVerify };
    const agent = new Agent({
      connections,
      keepAliveTimeout: 60_000,
      // A request caught in an API server or etcd restart must fail (and be retried), not hang
      // for undici's default five minutes holding a reconcile and its claim's lock.
      headersTimeout: 30_000,
      bodyTimeout: 60_000,
      connectTimeout: 10_000,
      connect,
    });
    // A watch with bookmarks hears from the API server at least every minute or so: three
    // minutes of silence is a dead connection.
    const watchAgent = new Agent({ headersTimeout: 30_000, bodyTimeout: 180_000, connectTimeout: 10_000, connect });
    return new KubeClient(cluster.server, agent, watchAgent, headers);
  }

  /** The namespace of the kubeconfig's current (or named) context, as kubectl defaults to it; "default" when it has none. */
  static contextNamespace(context?: string): string {
    try {
      const kc = new KubeConfig();
      kc.loadFromDefault();
      return kc.getContextObject(context ?? kc.getCurrentContext())?.namespace || "default";
    } catch {
      return "default";
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.#agent.close(), this.#watchAgent.destroy()]);
  }

  /**
   * Opens a watch (GET ...?watch=true) and returns its body: newline-separated JSON events.
   * Not retried here: the informer (informer.ts) decides between re-watching and relisting.
   */
  async watch(kind: KindRef, query: Record<string, string>, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    const url = new URL(this.server + resourcePath(kind));
    for (const [k, v] of Object.entries({ ...query, watch: "true" })) url.searchParams.set(k, v);
    const resp = await fetch(url, { headers: this.#headers, dispatcher: this.#watchAgent, signal });
    if (!resp.ok || !resp.body)
      throw ApiError.fromResponse(resp.status, await resp.text(), `watch ${kind.kind}`, Number(resp.headers.get("retry-after") ?? 0));
    return resp.body;
  }

  async request<T>(spec: RequestSpec): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#once<T>(spec);
      } catch (err) {
        const status = err instanceof ApiError ? err.status : 0; // 0: connection failed
        const limit = RETRYABLE_BRIEFLY.has(status) ? 3 : this.maxAttempts;
        if ((status === 0 || RETRYABLE.has(status) || RETRYABLE_BRIEFLY.has(status)) && attempt < limit) {
          const retryAfter = err instanceof ApiError ? err.retryAfterSeconds * 1000 : 0;
          const backoff = Math.min(5000, 50 * 2 ** attempt) * (0.5 + Math.random());
          this.onRetry?.(status);
          await sleep(Math.max(retryAfter, backoff));
          continue;
        }
        throw err instanceof ApiError ? err : new ApiError(0, "ConnectionFailed", `${spec.what}: ${String(err)}`, 0);
      }
    }
  }

  /**
   * One request through undici's dispatcher API rather than its WHATWG fetch: fetch builds a
   * Request, a Headers guard, a ReadableStream tee and transferable buffers per call, which was
   * the largest part of the operator's CPU per write in the scale run's profile (BENCHMARKS.md).
   */
  async #once<T>(spec: RequestSpec): Promise<T> {
    const url = new URL(this.server + spec.path);
    for (const [k, v] of Object.entries(spec.query ?? {})) url.searchParams.set(k, v);
    if (WRITE_METHODS.has(spec.method) && !url.searchParams.has("fieldManager")) url.searchParams.set("fieldManager", FIELD_MANAGER);
    const headers: Record<string, string> = { ...this.#headers };
    if (spec.body !== undefined) headers["Content-Type"] = spec.contentType ?? "application/json";
    const resp = await this.#agent.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: spec.method,
      headers,
      body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
    });
    const text = await resp.body.text();
    if (resp.statusCode >= 200 && resp.statusCode < 300) return (text ? JSON.parse(text) : {}) as T;
    throw ApiError.fromResponse(resp.statusCode, text, spec.what, Number(header(resp.headers["retry-after"]) ?? 0));
  }

  #count(verb: string, kind: KindRef): void {
    this.onWrite?.(verb, kind.kind);
  }

  get<T>(kind: KindRef, name: string, namespace?: string): Promise<T> {
    return this.request<T>({ method: "GET", path: resourcePath(kind, namespace, name), what: `get ${kind.kind} ${ref(namespace, name)}` });
  }

  /** Returns undefined on 404 instead of throwing. */
  async getOrUndefined<T>(kind: KindRef, name: string, namespace?: string): Promise<T | undefined> {
    try {
      return await this.get<T>(kind, name, namespace);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list<T>(kind: KindRef, opts: ListOptions = {}): Promise<{ items: T[]; resourceVersion: string }> {
    const query: Record<string, string> = {};
    if (opts.labelSelector) query.labelSelector = opts.labelSelector;
    if (opts.fieldSelector) query.fieldSelector = opts.fieldSelector;
    const list = await this.request<{ items: T[]; metadata: { resourceVersion: string } }>({
      method: "GET",
      path: resourcePath(kind, opts.namespace),
      query,
      what: `list ${kind.kind}${opts.namespace ? ` in ${opts.namespace}` : ""}`,
    });
    return {
      items: list.items.map(i => ({ apiVersion: kind.apiVersion, kind: kind.kind, ...(i as object) }) as T),
      resourceVersion: list.metadata.resourceVersion,
    };
  }

  /**
   * Lists in pages of `limit` and hands each page to `onPage` as it arrives (the informer keeps
   * only a projection of each item, so a big list never sits in memory whole). Returns the
   * list's resourceVersion, from which a watch continues.
   */
  async listPages<T>(kind: KindRef, opts: ListOptions & { limit?: number }, onPage: (items: T[]) => void): Promise<string> {
    const query: Record<string, string> = { limit: String(opts.limit ?? 500) };
    if (opts.labelSelector) query.labelSelector = opts.labelSelector;
    if (opts.fieldSelector) query.fieldSelector = opts.fieldSelector;
    for (;;) {
      const page = await this.request<{ items: T[]; metadata: { resourceVersion: string; continue?: string } }>({
        method: "GET",
        path: resourcePath(kind, opts.namespace),
        query,
        what: `list ${kind.kind}${opts.namespace ? ` in ${opts.namespace}` : ""}`,
      });
      onPage(page.items);
      if (!page.metadata.continue) return page.metadata.resourceVersion;
      query.continue = page.metadata.continue;
    }
  }

  create<T>(kind: KindRef, obj: T): Promise<T> {
    this.#count("create", kind);
    const { name, namespace } = (obj as KubeObject).metadata ?? {};
    return this.request<T>({
      method: "POST",
      path: resourcePath(kind, namespace),
      query: { fieldManager: FIELD_MANAGER },
      body: { apiVersion: kind.apiVersion, kind: kind.kind, ...(obj as object) },
      what: `create ${kind.kind} ${ref(namespace, name)}`,
    });
  }

  /** Server-side apply under our field manager. Objects we own are rendered whole each time. */
  apply<T>(kind: KindRef, obj: T, opts: { subresource?: "status"; force?: boolean } = {}): Promise<T> {
    this.#count(opts.subresource ? "apply-status" : "apply", kind);
    const { name, namespace } = (obj as KubeObject).metadata ?? {};
    return this.request<T>({
      method: "PATCH",
      path: resourcePath(kind, namespace, name, opts.subresource),
      query: { fieldManager: FIELD_MANAGER, force: String(opts.force ?? true) },
      body: { apiVersion: kind.apiVersion, kind: kind.kind, ...(obj as object) },
      contentType: "application/apply-patch+yaml",
      what: `apply ${kind.kind} ${ref(namespace, name)}${opts.subresource ? "/status" : ""}`,
    });
  }

  /** JSON merge patch, for fields shared with other writers (finalizers on a user's VM). */
  mergePatch<T>(kind: KindRef, name: string, namespace: string | undefined, patch: unknown, subresource?: "status"): Promise<T> {
    this.#count(subresource ? "patch-status" : "patch", kind);
    return this.request<T>({
      method: "PATCH",
      path: resourcePath(kind, namespace, name, subresource),
      query: { fieldManager: FIELD_MANAGER },
      body: patch,
      contentType: "application/merge-patch+json",
      what: `patch ${kind.kind} ${ref(namespace, name)}${subresource ? "/status" : ""}`,
    });
  }

  /** JSON patch, used with a `test` op for optimistic concurrency on lists such as finalizers. */
  jsonPatch<T>(kind: KindRef, name: string, namespace: string | undefined, ops: unknown[]): Promise<T> {
    this.#count("patch", kind);
    return this.request<T>({
      method: "PATCH",
      path: resourcePath(kind, namespace, name),
      query: { fieldManager: FIELD_MANAGER },
      body: ops,
      contentType: "application/json-patch+json",
      what: `patch ${kind.kind} ${ref(namespace, name)}`,
    });
  }

  /** Deletes; a 404 counts as done. Preconditions guard against deleting a re-created object. */
  async delete(kind: KindRef, name: string, namespace?: string, opts: { uid?: string; propagationPolicy?: string } = {}): Promise<void> {
    this.#count("delete", kind);
    const body: Record<string, unknown> = { apiVersion: "v1", kind: "DeleteOptions" };
    if (opts.uid) body.preconditions = { uid: opts.uid };
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    try {
      await this.request({
        method: "DELETE",
        path: resourcePath(kind, namespace, name),
        body,
        what: `delete ${kind.kind} ${ref(namespace, name)}`,
      });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }
}

/** A response header's value (undici gives repeated headers as an array). */
function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function ref(namespace: string | undefined, name: string | undefined): string {
  return namespace ? `${namespace}/${name}` : String(name);
}
