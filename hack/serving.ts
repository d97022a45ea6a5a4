// The local stand-in for the operator's TLS and readiness in a cluster: a serving certificate for
// localhost signed by a fresh CA (cert-manager's job there), and a wait until Pepr has bound its
// admission routes (the readiness probe's). Used by hack/run-operator.ts (the operator under tsx)
// and by the image test (the bundle under plain node).
import fs from "node:fs";
import path from "node:path";
import { selfSignedCa, signedByCa } from "./pki";

/** tls.key and tls.crt for localhost/127.0.0.1 in `dir`, and the base64 CA for a caBundle. */
export function servingCert(dir: string): { key: string; cert: string; ca: string } {
  selfSignedCa(dir, "/CN=vmnet-webhook-ca", 30);
  // Both SANs: the API server dials https://localhost, and IP SANs keep 127.0.0.1 working too.
  signedByCa(dir, "tls", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n", 30);
  return {
    key: path.join(dir, "tls.key"),
    cert: path.join(dir, "tls.crt"),
    ca: fs.readFileSync(path.join(dir, "ca.crt")).toString("base64"),
  };
}

/**
 * Pepr binds its routes (health included) only once its store is ready (seconds after listening);
 * our admission front answers /healthz by forwarding it to Pepr, so 200 means both serve.
 */
export async function waitUntilServing(port: number): Promise<void> {
  const https = await import("node:https");
  const status = (): Promise<number> =>
    new Promise(resolve => {
      const req = https.request({ host: "localhost", port, path: "/healthz", method: "GET", rejectUnauthorized: false }, res => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", () => resolve(0));
      req.end();
    });
  for (let i = 0; i < 600; i++) {
    if ((await status()) === 200) return;
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`the admission server on port ${port} did not bind its routes within 60 s`);
}
