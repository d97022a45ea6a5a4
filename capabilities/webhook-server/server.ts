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

export function startAdmissionServer(opts: AdmissionServerOptions): https.Server {
  const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: 64 });
  const heavy = new Lane(1);
  const server = https.createServer(readTls(opts), (req, res) => void handle(req, res, opts, agent, heavy).catch(err => fail(res, err)));
  // Slow or idle clients must not hold sockets for ever; the API server's webhook timeout is at most 30 s.
  server.headersTimeout = 15_000;
  server.requestTimeout = 35_000;
  server.keepAliveTimeout = 60_000;
  server.listen(opts.port);
  return server;
}

/** Loads the serving certificate again (for rotation without a restart). */
export function reloadCertificate(server: https.Server, files: TlsFiles): void {
  server.setSecureContext(readTls(files));
  log.info("serving certificate reloaded");
}

function readTls(files: TlsFiles): { key: Buffer; cert: Buffer } {
  return { key: fs.readFileSync(files.keyFile), cert: fs.readFileSync(files.certFile) };
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, opts: AdmissionServerOptions, agent: https.Agent, heavy: Lane): Promise<void> {
  const r = route(req.method, req.url, opts.token);
  if (r.kind === "not-found") return plain(res, 404, "not found", true);
  if (r.kind === "unauthorized") return plain(res, 401, "unauthorized", true);
  if (r.kind === "forward") return void (await forward(req, res, opts, agent, undefined));
  const body = await readBody(req);
  const verdict = gate(body.text);
  if (verdict.status) return plain(res, verdict.status, verdict.status === 413 ? "request too large" : "malformed admission review");
  if (verdict.deny && verdict.uid) return json(res, denial(verdict.uid, verdict.deny));
  const isPod = (verdict.review?.request?.kind as { kind?: string } | undefined)?.kind === "Pod";
  const send = answer(req, res, opts, agent, r.which, body.text, verdict.review?.request as AdmissionRequest);
  await (isPod || body.text.length < HEAVY_BYTES ? send() : heavy.run(send));
}

/** Answers here (direct path) or through Pepr. */
function answer(req: http.IncomingMessage, res: http.ServerResponse, opts: AdmissionServerOptions, agent: https.Agent, which: "mutate" | "validate", text: string, request: AdmissionRequest): () => Promise<void> {
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

function forward(req: http.IncomingMessage, res: http.ServerResponse, opts: AdmissionServerOptions, agent: https.Agent, body: string | undefined): Promise<void> {
  return new Promise(resolve => {
    const headers: http.OutgoingHttpHeaders = body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
    const up = https.request({ socketPath: opts.upstream, path: req.url, method: req.method, headers, agent }, upRes => {
      res.writeHead(upRes.statusCode ?? 502, { "content-type": upRes.headers["content-type"] ?? "text/plain" });
      upRes.pipe(res);
      upRes.on("end", resolve);
      upRes.on("error", () => resolve());
    });
    up.on("error", err => {
      fail(res, err);
      resolve();
    });
    up.end(body);
  });
}

function plain(res: http.ServerResponse, status: number, text: string, close = false): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { "content-type": "text/plain", ...(close ? { connection: "close" } : {}) });
  res.end(`${text}\n`);
}

function json(res: http.ServerResponse, text: string): void {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(text);
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
