// Runs vmnet-operator as one local process against the cluster in KUBECONFIG, the way the tests
// and `npm start` do: a TLS serving certificate for localhost signed by a fresh CA, webhook
// configurations registered with that CA as caBundle, then the Pepr module in dev mode
// (admission server and watch controllers together).
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { KubeClient } from "../capabilities/k8s/client";
import { Kinds } from "../capabilities/k8s/kinds";
import { servingCert, waitUntilServing } from "./serving";
import { renderAdmissionPolicy, renderWebhooks } from "./webhooks";

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

/**
 * VMNET_OPERATOR_BUNDLE=<module.js>: the module as the image runs it (the esbuild bundle under
 * plain node, no tsx) in a child process (with VMNET_OPERATOR_NODE_ARGS); this process only
 * registers the webhooks, passes signals on and exits with the child.
 */
function runBundle(bundle: string): void {
  const nodeArgs = (process.env.VMNET_OPERATOR_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, bundle], { env: { ...process.env, NODE_OPTIONS: "" }, stdio: "inherit" });
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + os.constants.signals[signal] : 1)));
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
    // The webhooks call this process by URL, not through a Service: no endpoint removal to wait for on SIGTERM.
    VMNET_SHUTDOWN_DELAY_SECONDS: process.env.VMNET_SHUTDOWN_DELAY_SECONDS ?? "0",
  });
  // Serve first, register after: a webhook registered before its server answers fails requests.
  if (process.env.VMNET_OPERATOR_BUNDLE) runBundle(process.env.VMNET_OPERATOR_BUNDLE);
  else await import("../pepr");
  await waitUntilServing(port);
  await register(port, token, tls.ca);
  console.error(`[operator] serving admission on https://localhost:${port}, webhooks registered`);
}

main().catch(err => {
  console.error(`[operator] failed to start: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
