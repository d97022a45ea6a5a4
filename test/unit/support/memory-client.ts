// An in-memory implementation of OUR client interface (KubeApi, capabilities/k8s/client.ts), for
// controller unit tests without a control plane. It is not a fake API server: it keeps objects by
// kind, namespace and name and gives the answers the controllers act on, as the typed errors the
// HTTP client throws (errors.ts): AlreadyExists on a taken name, Conflict on a stale
// resourceVersion or a failed uid precondition, NotFound, Invalid on a failed JSON-patch test.
// Field managers, admission, defaulting, schema validation and garbage collection are not
// modelled: everything that depends on them is tested against the real API server
// (test/integration). Faults can be planted per call (failNext) to drive the error paths.
import { KubeApi, KubeObject, ListOptions } from "../../../capabilities/k8s/client";
import { apiError, ApiError } from "../../../capabilities/k8s/errors";
import { KindRef } from "../../../capabilities/k8s/kinds";

export type Verb = "get" | "list" | "create" | "apply" | "patch" | "delete";

export interface Call {
  verb: Verb;
  kind: string;
  name?: string;
  namespace?: string;
  subresource?: "status";
}

interface Fault {
  match: (call: Call) => boolean;
  error: () => ApiError;
  times: number;
}

type Json = Record<string, unknown>;

const clone = <T>(v: T): T => structuredClone(v);
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** RFC 7386 merge patch. Pure. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Json = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Maps merged, everything else replaced: close enough to an apply of a whole rendered object. */
function applyMerge(target: unknown, obj: unknown): unknown {
  if (!isObject(obj) || !isObject(target)) return clone(obj);
  const out: Json = { ...target };
  for (const [k, v] of Object.entries(obj)) out[k] = applyMerge(out[k], v);
  return out;
}

/** The parent and last token of a JSON pointer, for the JSON-patch ops the controllers send. */
function pointer(doc: unknown, path: string): { parent: Json | unknown[]; token: string } {
  const tokens = path
    .split("/")
    .slice(1)
    .map(t => t.replace(/~1/g, "/").replace(/~0/g, "~"));
  let parent = doc as Json | unknown[];
  for (const t of tokens.slice(0, -1)) parent = (parent as Json)[t] as Json | unknown[];
  if (parent === undefined || parent === null) throw new Error(`path ${path} does not exist`);
  return { parent, token: tokens[tokens.length - 1] };
}

/** Where one JSON-patch op lands: the parent, the token, the list index (lists only) and what is there now. */
interface PatchTarget {
  parent: Json | unknown[];
  token: string;
  list: unknown[] | undefined;
  index: number;
  current: unknown;
}

type PatchOp = { op: string; path: string; value?: unknown };

function patchTarget(doc: Json, path: string): PatchTarget {
  const { parent, token } = pointer(doc, path);
  const list = Array.isArray(parent) ? parent : undefined;
  const index = list ? (token === "-" ? list.length : Number(token)) : -1;
  const current = list ? list[index] : (parent as Json)[token];
  return { parent, token, list, index, current };
}

function testOp(t: PatchTarget, op: PatchOp): void {
  if (JSON.stringify(t.current) !== JSON.stringify(op.value)) throw new Error(`test of ${op.path} failed`);
}

function removeOp(t: PatchTarget, op: PatchOp): void {
  if (t.current === undefined) throw new Error(`remove of ${op.path}: nothing there`);
  if (t.list) t.list.splice(t.index, 1);
  else delete (t.parent as Json)[t.token];
}

function addOp(t: PatchTarget, op: PatchOp): void {
  if (t.list) t.list.splice(t.index, 0, clone(op.value));
  else (t.parent as Json)[t.token] = clone(op.value);
}

function replaceOp(t: PatchTarget, op: PatchOp): void {
  if (t.list) t.list[t.index] = clone(op.value);
  else (t.parent as Json)[t.token] = clone(op.value);
}

const PATCH_OPS: Record<string, (t: PatchTarget, op: PatchOp) => void> = { test: testOp, remove: removeOp, add: addOp, replace: replaceOp };

/** RFC 6902 test, remove, add and replace: what the controllers send. */
function jsonPatchOp(doc: Json, op: PatchOp): void {
  const apply = Object.hasOwn(PATCH_OPS, op.op) ? PATCH_OPS[op.op] : undefined;
  if (!apply) throw new Error(`op ${op.op} is not supported by the memory client`);
  apply(patchTarget(doc, op.path), op);
}

/** `a=b,c` (equality and existence): the label selectors the operator sends. */
function selects(selector: string | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  return selector.split(",").every(term => {
    const [k, v] = term.split("=");
    return v === undefined ? labels?.[k] !== undefined : labels?.[k] === v;
  });
}

export class MemoryClient implements KubeApi {
  readonly #objects = new Map<string, KubeObject>();
  readonly #faults: Fault[] = [];
  #version = 0;
  #uids = 0;
  /** Every call, in order: tests count writes or see what was tried. */
  readonly calls: Call[] = [];

  /** Fails the next `times` calls that match with the error made by `error` (fresh each time). */
  failNext(match: Partial<Call>, error: () => ApiError, times = 1): void {
    const keys = Object.entries(match) as [keyof Call, unknown][];
    this.#faults.push({ match: c => keys.every(([k, v]) => c[k] === v), error, times });
  }

  /** Writes objects as another party would (not recorded as calls): the cluster a test starts from. */
  seed(kind: KindRef, ...objs: object[]): KubeObject[] {
    return objs.map(o => this.#insert(kind, clone(o) as KubeObject));
  }

  /** The stored object, or undefined (no call recorded). */
  peek<T = KubeObject>(kind: KindRef, name: string, namespace?: string): T | undefined {
    const o = this.#objects.get(this.#key(kind, name, namespace));
    return o ? (clone(o) as T) : undefined;
  }

  /** Every stored object of a kind (no call recorded). */
  all<T = KubeObject>(kind: KindRef): T[] {
    return [...this.#objects.entries()].filter(([k]) => k.startsWith(`${kind.plural}/`)).map(([, o]) => clone(o) as T);
  }

  /** Writes of one verb (and kind): what a test counts. */
  writes(verb: Verb, kind?: string): Call[] {
    return this.calls.filter(c => c.verb === verb && (kind === undefined || c.kind === kind));
  }

  async get<T>(kind: KindRef, name: string, namespace?: string): Promise<T> {
    this.#call({ verb: "get", kind: kind.kind, name, namespace });
    return clone(this.#must(kind, name, namespace)) as T;
  }

  async getOrUndefined<T>(kind: KindRef, name: string, namespace?: string): Promise<T | undefined> {
    this.#call({ verb: "get", kind: kind.kind, name, namespace });
    const o = this.#objects.get(this.#key(kind, name, namespace));
    return o ? (clone(o) as T) : undefined;
  }

  async list<T>(kind: KindRef, opts: ListOptions = {}): Promise<{ items: T[]; resourceVersion: string }> {
    this.#call({ verb: "list", kind: kind.kind, namespace: opts.namespace });
    if (opts.fieldSelector) throw new Error("the memory client does not evaluate field selectors");
    const items = this.all<KubeObject>(kind).filter(
      o => (!opts.namespace || o.metadata?.namespace === opts.namespace) && selects(opts.labelSelector, o.metadata?.labels),
    );
    return { items: items as T[], resourceVersion: String(this.#version) };
  }

  async create<T>(kind: KindRef, obj: T): Promise<T> {
    const o = clone(obj) as KubeObject;
    const { name, namespace } = o.metadata ?? {};
    this.#call({ verb: "create", kind: kind.kind, name, namespace });
    if (this.#objects.has(this.#key(kind, name, namespace)))
      throw apiError(409, "AlreadyExists", `create ${kind.kind} ${name}: 409 AlreadyExists: ${kind.plural} "${name}" already exists`);
    return clone(this.#insert(kind, o)) as T;
  }

  async apply<T>(kind: KindRef, obj: T, opts: { subresource?: "status"; force?: boolean } = {}): Promise<T> {
    const o = clone(obj) as KubeObject;
    const { name, namespace } = o.metadata ?? {};
    this.#call({ verb: "apply", kind: kind.kind, name, namespace, subresource: opts.subresource });
    const have = this.#objects.get(this.#key(kind, name, namespace));
    if (!have) {
      if (opts.subresource) throw this.#notFound(kind, name);
      return clone(this.#insert(kind, o)) as T;
    }
    const { metadata, ...rest } = o;
    const body = opts.subresource ? { status: o.status } : rest;
    return clone(
      this.#update(
        kind,
        have,
        applyMerge(have, { ...body, metadata: applyMerge(have.metadata, metadata) }) as KubeObject,
        opts.subresource,
      ),
    ) as T;
  }

  async mergePatch<T>(kind: KindRef, name: string, namespace: string | undefined, patch: unknown, subresource?: "status"): Promise<T> {
    this.#call({ verb: "patch", kind: kind.kind, name, namespace, subresource });
    const have = this.#must(kind, name, namespace);
    const wantVersion = (patch as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    if (wantVersion !== undefined && wantVersion !== have.metadata?.resourceVersion) {
      throw apiError(
        409,
        "Conflict",
        `patch ${kind.kind} ${name}: 409 Conflict: the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    return clone(this.#update(kind, have, mergePatch(have, patch) as KubeObject, subresource)) as T;
  }

  async jsonPatch<T>(kind: KindRef, name: string, namespace: string | undefined, ops: unknown[]): Promise<T> {
    this.#call({ verb: "patch", kind: kind.kind, name, namespace });
    const have = this.#must(kind, name, namespace);
    const next = clone(have) as Json;
    try {
      for (const op of ops) jsonPatchOp(next, op as { op: string; path: string; value?: unknown });
    } catch (err) {
      throw apiError(422, "", `patch ${kind.kind} ${name}: 422: ${(err as Error).message}`);
    }
    return clone(this.#update(kind, have, next as KubeObject)) as T;
  }

  async delete(kind: KindRef, name: string, namespace?: string, opts: { uid?: string; propagationPolicy?: string } = {}): Promise<void> {
    this.#call({ verb: "delete", kind: kind.kind, name, namespace });
    const key = this.#key(kind, name, namespace);
    const have = this.#objects.get(key);
    if (!have) return;
    if (opts.uid && opts.uid !== have.metadata?.uid) {
      throw apiError(
        409,
        "Conflict",
        `delete ${kind.kind} ${name}: 409 Conflict: Precondition failed: UID in precondition: ${opts.uid}, UID in object meta: ${have.metadata?.uid}`,
      );
    }
    if (have.metadata?.finalizers?.length) {
      // Deletion waits for the finalizers: the object stays, marked.
      if (!have.metadata.deletionTimestamp)
        this.#update(kind, have, mergePatch(have, { metadata: { deletionTimestamp: new Date().toISOString() } }) as KubeObject);
      return;
    }
    this.#objects.delete(key);
  }

  #key(kind: KindRef, name: string | undefined, namespace: string | undefined): string {
    return `${kind.plural}/${kind.namespaced ? (namespace ?? "default") : ""}/${name}`;
  }

  #call(call: Call): void {
    this.calls.push(call);
    const fault = this.#faults.find(f => f.times > 0 && f.match(call));
    if (!fault) return;
    fault.times--;
    throw fault.error();
  }

  #notFound(kind: KindRef, name: string | undefined): ApiError {
    return apiError(404, "NotFound", `${kind.kind} ${name}: 404 NotFound: ${kind.plural} "${name}" not found`);
  }

  #must(kind: KindRef, name: string, namespace: string | undefined): KubeObject {
    const o = this.#objects.get(this.#key(kind, name, namespace));
    if (!o) throw this.#notFound(kind, name);
    return o;
  }

  #insert(kind: KindRef, o: KubeObject): KubeObject {
    const meta = (o.metadata ??= {});
    if (kind.namespaced) meta.namespace ??= "default";
    else delete meta.namespace;
    meta.uid ??= `uid-${++this.#uids}`;
    meta.resourceVersion = String(++this.#version);
    meta.generation = 1;
    meta.creationTimestamp ??= new Date().toISOString();
    const stored = { ...o, apiVersion: kind.apiVersion, kind: kind.kind };
    this.#objects.set(this.#key(kind, meta.name, meta.namespace), stored);
    return stored;
  }

  /**
   * Stores `next` in place of `have`. A status write changes only status, any other write keeps
   * it (the status subresource); generation counts changes of anything but metadata and status.
   */
  #update(kind: KindRef, have: KubeObject, next: KubeObject, subresource?: "status"): KubeObject {
    const merged: KubeObject = subresource ? { ...clone(have), status: next.status } : { ...next, status: have.status };
    if (merged.status === undefined) delete merged.status;
    const body = (o: KubeObject): string => JSON.stringify({ ...o, metadata: undefined, status: undefined });
    const meta = {
      ...(subresource ? have.metadata : next.metadata),
      uid: have.metadata?.uid,
      name: have.metadata?.name,
      namespace: have.metadata?.namespace,
    };
    meta.resourceVersion = String(++this.#version);
    meta.generation = (have.metadata?.generation ?? 1) + (body(merged) !== body(have) ? 1 : 0);
    const stored = { ...merged, metadata: meta, apiVersion: kind.apiVersion, kind: kind.kind };
    if (!kind.namespaced) delete stored.metadata.namespace;
    this.#objects.set(this.#key(kind, meta.name, meta.namespace), stored);
    return stored;
  }
}
