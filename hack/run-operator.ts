// Runs vmnet-operator as one local process against the cluster in KUBECONFIG, the way the tests
// and `npm start` do: a TLS serving certificate for localhost signed by a fresh CA, webhook
// configurations registered with that CA as caBundle, then the Pepr module in dev mode
// (admission server and watch controllers together).
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { KubeClient } from "../capabilities/k8s/client";
import { Kinds } from "../capabilities/k8s/kinds";
import { renderAdmissionPolicy, renderWebhooks } from "./webhooks";

function servingCert(dir: string): { key: string; cert: string; ca: string } {
  const run = (args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  run(["req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "30", "-subj", "/CN=vmnet-webhook-ca"]);
  run(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=localhost"]);
  // Both SANs: the API server dials https://localhost, and IP SANs keep 127.0.0.1 working too.
  fs.writeFileSync(path.join(dir, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  run(["x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "30", "-out", "tls.crt", "-extfile", "san.ext"]);
  return { key: path.join(dir, "tls.key"), cert: path.join(dir, "tls.crt"), ca: fs.readFileSync(path.join(dir, "ca.crt")).toString("base64") };
}

async function register(port: number, token: string, caBundle: string): Promise<void> {
  const client = await KubeClient.fromDefault();
  const identity = process.env.VMNET_OPERATOR_IDENTITY ?? (await whoAmI(client));
  const { mutating, validating } = renderWebhooks({ baseUrl: `https://localhost:${port}`, token, caBundle });
  await client.apply(Kinds.MutatingWebhookConfiguration, mutating);
  await client.apply(Kinds.ValidatingWebhookConfiguration, validating);
  for (const [kind, obj] of renderAdmissionPolicy(identity)) await client.apply(kind, obj);
  await client.close();
}

/** The user name our kubeconfig authenticates as: the operator identity in local runs. */
async function whoAmI(client: KubeClient): Promise<string> {
  const review = await client.request<{ status: { userInfo: { username: string } } }>({
    method: "POST",
    path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    what: "self subject review",
  });
  return review.status.userInfo.username;
}

/** Pepr binds its routes (health included) only once its store is ready (seconds after listening). */
async function waitUntilServing(port: number): Promise<void> {
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

async function main(): Promise<void> {
  if (!process.env.KUBECONFIG) throw new Error("KUBECONFIG is not set: run through `npm start`, or point it at a cluster");
  const port = Number(process.env.VMNET_WEBHOOK_PORT ?? 3000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmnet-webhook-"));
  const tls = servingCert(dir);
  const token = process.env.PEPR_API_PATH ?? crypto.randomBytes(16).toString("hex");
  Object.assign(process.env, {
    SSL_KEY_PATH: tls.key,
    SSL_CERT_PATH: tls.cert,
    PEPR_API_PATH: token,
    PEPR_MODE: process.env.PEPR_MODE ?? "dev",
    VMNET_WEBHOOK_PORT: String(port),
  });
  // Serve first, register after: a webhook registered before its server answers fails requests.
  await import("../pepr");
  await waitUntilServing(port);
  await register(port, token, tls.ca);
  console.error(`[operator] serving admission on https://localhost:${port}, webhooks registered`);
}

main().catch(err => {
  console.error(`[operator] failed to start: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
