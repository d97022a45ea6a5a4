// The admission front server's lifecycle (capabilities/webhook-server/server.ts), with a real
// HTTPS server standing in for Pepr's on an abstract Unix socket, as in the pod: not ready until
// that socket answers; one retry when the socket fails before answering; 503 with Retry-After
// when it fails twice; a drain that lets the request in flight finish and takes no new connection.
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { AdmissionServer, startAdmissionServer, upstreamSocket } from "../../capabilities/webhook-server/server";
import { createCa, createServingCert } from "../../capabilities/tls/certs";

const now = new Date();
const ca = createCa(now, 1);
const pair = createServingCert(ca, ["localhost"], now, 1);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmnet-front-"));
const keyFile = path.join(dir, "tls.key");
const certFile = path.join(dir, "tls.crt");
fs.writeFileSync(keyFile, pair.key);
fs.writeFileSync(certFile, pair.cert);

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise(resolve => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Pepr's stand-in: answers /healthz through `handler` on the socket. */
function upstream(socket: string, handler: http.RequestListener): Promise<https.Server> {
  return new Promise(resolve => {
    const s = https.createServer({ key: pair.key, cert: pair.cert }, handler);
    s.listen(socket, () => resolve(s));
  });
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}
function get(port: number, agent?: https.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: "127.0.0.1", port, path: "/healthz", rejectUnauthorized: false, agent }, res => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
  });
}

function post(port: number, urlPath: string, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        path: urlPath,
        method: "POST",
        rejectUnauthorized: false,
        headers: { "content-type": "application/json" },
      },
      res => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function listening(front: AdmissionServer): Promise<void> {
  if (!front.server.listening) await new Promise(r => front.server.once("listening", r));
}

describe("admission front server lifecycle", () => {
  let front: AdmissionServer | undefined;
  let pepr: https.Server | undefined;
  let port: number;
  let socket: string;
  beforeEach(async () => {
    port = await freePort();
    socket = upstreamSocket();
  });
  afterEach(async () => {
    await front?.drain(100);
    pepr?.closeAllConnections();
    await new Promise(r => (pepr ? pepr.close(r) : r(undefined)));
    front = pepr = undefined;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const start = async (): Promise<AdmissionServer> => {
    front = startAdmissionServer({ port, upstream: socket, token: "tok", keyFile, certFile });
    await listening(front);
    return front;
  };

  it("is not ready until Pepr's socket answers, and not ready once closing", async () => {
    const f = await start();
    assert.equal(await f.ready(), false, "listening, but nothing on Pepr's socket");
    pepr = await upstream(socket, (_req, res) => res.end("ok"));
    assert.equal(await f.ready(), true);
    f.beginClosing();
    assert.equal(await f.ready(), false);
  });

  it("sends a request once more when Pepr's socket fails before answering", async () => {
    let calls = 0;
    pepr = await upstream(socket, (req, res) => {
      if (++calls === 1) return void req.socket.destroy(); // a reset, as a stopping Pepr's closed socket gives
      res.end("ok");
    });
    await start();
    const a = await get(port);
    assert.deepEqual([a.status, a.body, calls], [200, "ok", 2]);
  });

  it("answers 503 with Retry-After and Connection: close when Pepr's socket fails twice (the API server retries elsewhere)", async () => {
    await start(); // nothing listens on Pepr's socket
    const a = await get(port);
    assert.equal(a.status, 503);
    assert.equal(a.headers["retry-after"], "1");
    assert.equal(a.headers.connection, "close");
  });

  it("closes each connection after its answer once closing, so kept-alive clients move on", async () => {
    pepr = await upstream(socket, (_req, res) => res.end("ok"));
    const f = await start();
    const agent = new https.Agent({ keepAlive: true });
    assert.equal((await get(port, agent)).headers.connection, "keep-alive");
    f.beginClosing();
    const a = await get(port, agent);
    assert.deepEqual([a.status, a.headers.connection], [200, "close"]);
    agent.destroy();
  });

  it("drains: the request in flight gets its answer, a new connection is refused, drain ends after the answer", async () => {
    pepr = await upstream(socket, (_req, res) => void sleep(400).then(() => res.end("slow ok")));
    const f = await start();
    const inFlight = get(port);
    await sleep(100);
    const t0 = Date.now();
    const drained = f.drain(5000).then(() => Date.now() - t0);
    await sleep(50);
    await assert.rejects(get(port), /ECONNREFUSED/);
    const a = await inFlight;
    assert.deepEqual([a.status, a.body, a.headers.connection], [200, "slow ok", "close"]);
    const took = await drained;
    assert.ok(took >= 200 && took < 5000, `drain waited for the answer, not for its bound (${took} ms)`);
  });

  it("answers a review on the direct path with its length, not chunked (header and body in one write)", async () => {
    pepr = await upstream(socket, (_req, res) => res.end("ok"));
    const answer = '{"response":{"uid":"u-1","allowed":true,"status":{"message":"é"}}}';
    front = startAdmissionServer({ port, upstream: socket, token: "tok", keyFile, certFile, direct: async () => answer });
    await listening(front);
    const a = await post(port, "/validate/tok", JSON.stringify({ request: { uid: "u-1", kind: { kind: "Pod" } } }));
    assert.deepEqual([a.status, a.body, a.headers["content-type"]], [200, answer, "application/json"]);
    assert.equal(a.headers["content-length"], String(Buffer.byteLength(answer)));
    assert.equal(a.headers["transfer-encoding"], undefined);
  });

  it("cuts what is still open when the drain's bound passes", async () => {
    pepr = await upstream(socket, () => undefined); // never answers
    const f = await start();
    const inFlight = get(port).then(
      () => "answered",
      () => "cut",
    );
    await sleep(100);
    const t0 = Date.now();
    await f.drain(300);
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(await inFlight, "cut");
  });
});
