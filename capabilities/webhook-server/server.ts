// The HTTPS server the API server calls, in front of Pepr's own express server. Pepr's server
// parses any body before it checks the path token, answers malformed JSON with Express's stack
// trace (file paths included), accepts a review without a uid, and deep-copies every object
// recursively (seconds for an 8,000-NIC VM, a stack overflow at 9,000 levels), all on the one
// thread that also answers launcher pods. Here the token is checked before a byte of the body is
// read, gate.ts bounds size and depth and checks the review before anything parses deeply, errors
// are one plain line, and big non-pod reviews go to Pepr one at a time so a pod never queues
// behind them. With `direct` (dispatch.ts) the review is answered here by our capabilities'
// bindings, parsed once; Pepr itself listens on an abstract Unix socket (no file, not reachable
// from the network) for health and metrics, and for every review when the direct path is off.
//
// Certificate rotation: call reloadCertificate(server, files) when the serving files change
// (the install track's capabilities/tls/ watcher plugs in there); new connections get the new
// certificate, open ones keep theirs.
//
// Lifecycle (why each piece is there; a rollout restarts every replica, and the launcher-pod
// webhook fails closed, so an answer lost here is a VM that does not start on time):
// - ready() is false until Pepr's socket answers: the front listens at once, but a request it
//   cannot hand on would fail, so the pod must not be an endpoint before then.
// - drain() stops taking connections and waits for the requests already in (bounded), and from
//   beginClosing() on every answer carries `Connection: close`, so the API server's kept-alive
//   connections leave this pod after their next answer instead of being cut under a request.
//   Pepr's own server is stopped only after drain() (pepr.ts orders the SIGTERM steps).
// - A forward that fails on a connection error before any byte of answer is tried once more on a
//   fresh connection (see forward()); if that fails too, the answer is 503 with Retry-After, which
//   the API server's client (client-go's rest client) retries on a new connection, i.e. most likely
//   on the other replica, within the webhook's timeout.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import { logger } from "../log";
import type { AdmissionRequest, Direct } from "./dispatch";
import { denial, gate, MAX_BODY_BYTES, route } from "./gate";

const log = logger("webhook-server");

export interface TlsFiles {
  keyFile: string;
  certFile: string;
}

export interface AdmissionServerOptions extends TlsFiles {
  port: number;
  /** Pepr's API path token. */
  token: string;
  /** Where Pepr's server listens (upstreamSocket()). */
  upstream: string;
  /** Answers admission reviews here (dispatch.ts) instead of forwarding them to Pepr. */
  direct?: Direct;
}

/** A fresh abstract Unix socket name for Pepr's server (Linux: no file, so a read-only root works). */
export function upstreamSocket(): string {
  return `\0vmnet-pepr-${process.pid}-${crypto.randomBytes(6).toString("hex")}`;
}

/** Reviews above this size are "heavy": they go to Pepr one at a time, pods excepted. */
const HEAVY_BYTES = 64 * 1024;

/** The front server and its lifecycle (see the file comment). */
export interface AdmissionServer {
  readonly server: https.Server;
  /** Listening, not closing, and Pepr's socket answers /healthz. */
  ready(): Promise<boolean>;
  /** From now on every answer closes its connection (the first step of a shutdown). */
  beginClosing(): void;
  /** Takes no new connection and resolves once the open ones are done, or after `timeoutMs` (then cuts them). */
  drain(timeoutMs: number): Promise<void>;
}

export function startAdmissionServer(opts: AdmissionServerOptions): AdmissionServer {
  const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: 64 });
  const heavy = new Lane(1);
  const state = { closing: false, listening: false };
  /** Answers not yet begun: closing marks them too, not only the requests that come after. */
  const open = new Set<http.ServerResponse>();
  const server = https.createServer(readTls(opts), (req, res) => {
    if (state.closing) res.setHeader("connection", "close");
    open.add(res);
    res.on("close", () => open.delete(res));
    void handle(req, res, opts, agent, heavy).catch(err => fail(res, err));
  });
  const beginClosing = (): void => {
    state.closing = true;
    for (const res of open) if (!res.headersSent) res.setHeader("connection", "close");
  };
  // Slow or idle clients must not hold sockets for ever; the API server's webhook timeout is at most 30 s.
  server.headersTimeout = 15_000;
  server.requestTimeout = 35_000;
  server.keepAliveTimeout = 60_000;
  server.on("listening", () => (state.listening = true));
  server.listen(opts.port);
  return {
    server,
    ready: async () => state.listening && !state.closing && (await upstreamAnswers(opts, agent)),
    beginClosing,
    drain: async timeoutMs => {
      beginClosing();
      await closeServer(server, timeoutMs);
      agent.destroy();
    },
  };
}

/** Pepr's /healthz through its socket, answered 200 within 2 s. */
function upstreamAnswers(opts: AdmissionServerOptions, agent: https.Agent): Promise<boolean> {
  return new Promise(resolve => {
    const req = https.get({ socketPath: opts.upstream, path: "/healthz", agent, timeout: 2000 }, res => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

/**
 * server.close() stops accepting and (Node >= 19) closes the idle kept-alive connections; the
 * busy ones end after their answer (Connection: close). An answer already under way when closing
 * began leaves its connection idle and open: those are closed as they turn idle. Past the
 * deadline the rest are cut: the API server has given up on them by then (webhook timeout).
 */
function closeServer(server: https.Server, timeoutMs: number): Promise<void> {
  return new Promise(resolve => {
    const idle = setInterval(() => server.closeIdleConnections(), 250);
    const done = (): void => {
      clearInterval(idle);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      log.warn(`connections still open ${timeoutMs} ms into the drain: closing them`);
      server.closeAllConnections();
      done();
    }, timeoutMs);
    server.close(done);
  });
}

/** Loads the serving certificate again (for rotation without a restart). */
export function reloadCertificate(server: https.Server, files: TlsFiles): void {
  server.setSecureContext(readTls(files));
  log.info("serving certificate reloaded");
}

function readTls(files: TlsFiles): { key: Buffer; cert: Buffer } {
  return { key: fs.readFileSync(files.keyFile), cert: fs.readFileSync(files.certFile) };
}

async function handle(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  opts: AdmissionServerOptions,
  agent: https.Agent,
  heavy: Lane,
): Promise<void> {
  const r = route(req.method, req.url, opts.token);
  if (r.kind === "not-found") return plain(res, 404, "not found", true);
  if (r.kind === "unauthorized") return plain(res, 401, "unauthorized", true);
  if (r.kind === "forward") return void (await forward(req, res, opts, agent, undefined));
  await review(req, res, opts, agent, heavy, r.which);
}

/** An admission review past the token check: gate, then answer (pods never wait behind a heavy review). */
async function review(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  opts: AdmissionServerOptions,
  agent: https.Agent,
  heavy: Lane,
  which: "mutate" | "validate",
): Promise<void> {
  const body = await readBody(req);
  const verdict = gate(body.text);
  if (verdict.status) return plain(res, verdict.status, verdict.status === 413 ? "request too large" : "malformed admission review");
  if (verdict.deny && verdict.uid) return json(res, denial(verdict.uid, verdict.deny));
  const isPod = (verdict.review?.request?.kind as { kind?: string } | undefined)?.kind === "Pod";
  const send = answer(req, res, opts, agent, which, body.text, verdict.review?.request as AdmissionRequest);
  await (isPod || body.text.length < HEAVY_BYTES ? send() : heavy.run(send));
}

/** Answers here (direct path) or through Pepr. */
function answer(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  opts: AdmissionServerOptions,
  agent: https.Agent,
  which: "mutate" | "validate",
  text: string,
  request: AdmissionRequest,
): () => Promise<void> {
  const direct = opts.direct;
  if (direct) return async () => json(res, await direct(which, request));
  return () => forward(req, res, opts, agent, text);
}

/** Reads the body, keeping at most MAX_BODY_BYTES + 1 of it (the rest is drained and dropped). */
function readBody(req: http.IncomingMessage): Promise<{ text: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      if (size <= MAX_BODY_BYTES) chunks.push(c);
      size += c.length;
    });
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      // Too large: keep only the head (for the uid) and make it fail the size check.
      resolve({ text: size > MAX_BODY_BYTES ? text.slice(0, 4096).padEnd(MAX_BODY_BYTES + 1, " ") : text });
    });
    req.on("error", reject);
  });
}

/** Connection errors: nothing of the request was answered, so it may be sent again. */
const CONNECTION_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ENOENT"]);
/** The pause before the one retry: a Pepr socket just reset (kept-alive socket closed) needs none, a refused one a little. */
const RETRY_DELAY_MS = 100;

/**
 * Hands the request to Pepr. On a connection error before any answer it is sent once more, on a
 * fresh connection. That is safe only because admission is idempotent here: a review computes its
 * answer from the cluster (the VM's claims, the pools), and its one side effect, binding a claim
 * on the spot, binds the same address a second time (the IPAllocation's name derives from pool and
 * address, and a Bound claim is kept), so a review Pepr did see once and answers again changes
 * nothing. One retry only: a Pepr that refuses twice is stopping or not yet up, and the API server
 * is better served by another replica (unavailable() below).
 */
async function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  opts: AdmissionServerOptions,
  agent: https.Agent,
  body: string | undefined,
): Promise<void> {
  const first = await forwardOnce(req, res, opts, agent, body);
  if (!first) return;
  if (!isConnectionError(first)) return fail(res, first);
  log.warn({ err: first.message }, "Pepr's socket failed before answering: trying once more");
  await new Promise(r => setTimeout(r, RETRY_DELAY_MS));
  const second = await forwardOnce(req, res, opts, agent, body, true);
  if (second) unavailable(res, second);
}

const isConnectionError = (err: Error): boolean => CONNECTION_ERRORS.has(String((err as NodeJS.ErrnoException).code));

/** One try; resolves with the error when it failed before Pepr's answer began, else undefined. */
function forwardOnce(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  opts: AdmissionServerOptions,
  agent: https.Agent,
  body: string | undefined,
  fresh = false,
): Promise<Error | undefined> {
  return new Promise(resolve => {
    const headers: http.OutgoingHttpHeaders =
      body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
    // The retry takes a new socket: the failed one may have been a kept-alive socket Pepr closed
    // (Node's server drops idle ones after its 5 s keepAliveTimeout, and a reuse can cross that:
    // `read ECONNRESET` in a churn run, outside any shutdown).
    const up = https.request(
      { socketPath: opts.upstream, path: req.url, method: req.method, headers, agent: fresh ? false : agent, rejectUnauthorized: false },
      upRes => {
        res.writeHead(upRes.statusCode ?? 502, { "content-type": upRes.headers["content-type"] ?? "text/plain" });
        upRes.pipe(res);
        upRes.on("end", () => resolve(undefined));
        upRes.on("error", () => {
          res.end(); // the answer had begun: nothing can be sent again
          resolve(undefined);
        });
      },
    );
    up.on("error", err => resolve(res.headersSent ? undefined : err));
    up.end(body);
  });
}

function plain(res: http.ServerResponse, status: number, text: string, close = false): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { "content-type": "text/plain", ...(close ? { connection: "close" } : {}) });
  res.end(`${text}\n`);
}

/**
 * With its length known the answer is one write: Node then sends the header and body as one
 * buffer, where without it (chunked encoding) it wrote header, chunk size, body and trailer as a
 * writev, which was the largest single item of a review's CPU (each piece through TLS).
 */
function json(res: http.ServerResponse, text: string): void {
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Pepr could not be reached twice: 503 with Retry-After and Connection: close. client-go's rest
 * client, which the API server calls webhooks with, retries an answer >= 500 that carries
 * Retry-After (up to 10 times, within the webhook's timeout), and on a new connection, which the
 * Service most likely sends to the other replica. A plain 500 would fail the admission at once.
 */
function unavailable(res: http.ServerResponse, err: Error): void {
  log.error({ err: err.message }, "Pepr's socket unreachable: answering 503, Retry-After 1");
  if (res.headersSent) return void res.end();
  res.writeHead(503, { "content-type": "text/plain", "retry-after": "1", connection: "close" });
  res.end("admission server unavailable, retry\n");
}

/** One plain line to the caller, the detail to our log only. */
function fail(res: http.ServerResponse, err: unknown): void {
  log.error({ err: err instanceof Error ? err.message : String(err) }, "admission request failed");
  plain(res, 500, "internal error");
}

/** At most `limit` tasks at once, the rest in arrival order. */
class Lane {
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.limit) await new Promise<void>(r => this.#waiting.push(r));
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }
}
