// Our seam around Pepr's admission server. Pepr 1.1.4 (lib/controller/index.ts) reads
// SSL_KEY_PATH/SSL_CERT_PATH once and calls https.createServer(options, app) itself, keeping the
// server private. Before Pepr starts, we wrap https.createServer to keep a handle on the servers
// it makes; a renewed certificate is then swapped in with tls.Server#setSecureContext, which
// applies to new connections without a restart (open connections keep their session).
import https from "node:https";

const servers: https.Server[] = [];
let installed = false;

/** Wraps https.createServer once per process; idempotent. */
export function captureHttpsServers(): void {
  if (installed) return;
  installed = true;
  const original = https.createServer.bind(https) as (...args: unknown[]) => https.Server;
  (https as { createServer: unknown }).createServer = (...args: unknown[]): https.Server => {
    const server = original(...args);
    servers.push(server);
    return server;
  };
}

/** The servers created since captureHttpsServers(): Pepr's admission (or watch-mode health) server. */
export function capturedServers(): readonly https.Server[] {
  return servers;
}

/** Serves a new key and certificate on every captured server; returns how many took it. */
export function reloadCertificate(key: string, cert: string): number {
  for (const s of servers) s.setSecureContext({ key, cert });
  return servers.length;
}
