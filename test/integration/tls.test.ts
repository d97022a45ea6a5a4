// Self-managed TLS against the real API server: the operator's Secret is created once (racing
// replicas converge on one certificate), the CA lands in every webhook's caBundle, a renewal keeps
// the CA, and the running https server serves the renewed certificate without a restart. With
// cert-manager, the Secret cert-manager writes is read and nothing is injected.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import type { KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { createCa, createServingCert, fromSecretData, serviceDnsNames } from "../../capabilities/tls/certs";
import { SECRET, TlsManager, TlsSettings } from "../../capabilities/tls/manager";
import { captureHttpsServers, capturedServers, reloadCertificate } from "../../capabilities/tls/server";
import { eventually } from "../helpers";
import { cluster, freshNamespace } from "../setup/cluster";

const DAY = 86400_000;

interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

/** Webhook configurations that match nothing (an objectSelector no object carries), for the caBundle. */
function webhookConfigs(name: string): [typeof Kinds.MutatingWebhookConfiguration, KubeObject][] {
  const hook = (n: string): Record<string, unknown> => ({
    name: n,
    clientConfig: { url: "https://localhost:1/never" },
    rules: [{ apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"], operations: ["CREATE"] }],
    objectSelector: { matchLabels: { "vmnet.io/tls-test-never": "x" } },
    failurePolicy: "Ignore",
    sideEffects: "None",
    admissionReviewVersions: ["v1"],
  });
  return [
    [Kinds.MutatingWebhookConfiguration, { metadata: { name }, webhooks: [hook("a.tls-test.vmnet.io")] }],
    [Kinds.ValidatingWebhookConfiguration, { metadata: { name }, webhooks: [hook("a.tls-test.vmnet.io"), hook("b.tls-test.vmnet.io")] }],
  ];
}

/** The serial number of the certificate a TLS server presents, verified against `ca` for `servername`. */
function servedSerial(port: number, ca: string, servername: string): Promise<{ serial: string; socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca, servername }, () =>
      resolve({ serial: socket.getPeerX509Certificate()!.serialNumber, socket }),
    );
    socket.on("error", reject);
  });
}

describe("self-managed TLS: Secret, caBundle and reload against the real API server", function () {
  this.timeout(120_000);
  let ns = "";
  const configName = `vmnet-tls-test-${crypto.randomBytes(3).toString("hex")}`;
  // The material is made 9 days in the past, so that the renewal below happens at the real now:
  // a TLS client checks validity against the real clock.
  let now = new Date(Date.now() - 9 * DAY);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmnet-tls-"));
  const settings = (over: Partial<TlsSettings> = {}): TlsSettings => ({
    mode: "self-managed",
    namespace: ns,
    secret: "vmnet-operator-tls",
    services: ["vmnet-operator"],
    webhookConfigs: [configName],
    certDir: dir,
    checkSeconds: 1,
    lifetimes: { caDays: 100, certDays: 10, renewFraction: 0.2 },
    ...over,
  });
  const manager = (over: Partial<TlsSettings> = {}): TlsManager => new TlsManager(cluster().client, settings(over), () => now);
  const readSecret = (name = "vmnet-operator-tls"): Promise<Secret> => cluster().client.get<Secret>(SECRET, name, ns);
  const caBundles = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const [kind] of webhookConfigs(configName)) {
      const live = await cluster().client.get<KubeObject & { webhooks: { clientConfig: { caBundle?: string } }[] }>(kind, configName);
      out.push(...live.webhooks.map(w => w.clientConfig.caBundle ?? ""));
    }
    return out;
  };

  before(async () => {
    ns = await freshNamespace("tls");
    for (const [kind, obj] of webhookConfigs(configName)) await cluster().client.apply(kind, obj);
  });

  after(async () => {
    for (const [kind] of webhookConfigs(configName)) await cluster().client.delete(kind, configName);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("creates one CA and serving certificate when replicas race, and injects the CA into every webhook", async () => {
    const results = await Promise.all([manager(), manager(), manager()].map(m => m.current()));
    assert.equal(new Set(results.map(r => r.cert)).size, 1, "racing replicas ended with different certificates");
    const secret = await readSecret();
    assert.equal(secret.type, "kubernetes.io/tls");
    const material = fromSecretData(secret.data)!;
    assert.equal(material.cert, results[0].cert);
    const bundle = Buffer.from(material.caCert).toString("base64");
    assert.deepEqual(await caBundles(), [bundle, bundle, bundle]);
    const cert = new crypto.X509Certificate(material.cert);
    for (const n of serviceDnsNames(["vmnet-operator"], ns)) assert.ok(cert.checkHost(n), n);
  });

  it("changes nothing while the certificate is sound (no write, same resourceVersion)", async () => {
    const before = (await readSecret()).metadata?.resourceVersion;
    await manager().current();
    assert.equal((await readSecret()).metadata?.resourceVersion, before);
  });

  it("puts the CA back into a caBundle that was overwritten (re-applied manifests)", async () => {
    const [kind] = webhookConfigs(configName)[1];
    await cluster().client.jsonPatch(kind, configName, undefined, [
      { op: "add", path: "/webhooks/1/clientConfig/caBundle", value: Buffer.from("not a CA").toString("base64") },
    ]);
    const m = await manager().current();
    const bundle = Buffer.from(m.ca).toString("base64");
    assert.deepEqual(await caBundles(), [bundle, bundle, bundle]);
  });

  it("renews the certificate before expiry, keeps the CA, and the running server serves the new one without a restart", async () => {
    const first = fromSecretData((await readSecret()).data)!;
    const m = manager();
    captureHttpsServers();
    const pair = await m.current();
    m.writeFiles(pair);
    // What Pepr does (lib/controller/index.ts): read the files, https.createServer, listen.
    const server = https.createServer(
      { key: fs.readFileSync(path.join(dir, "tls.key")), cert: fs.readFileSync(path.join(dir, "tls.crt")) },
      (_req, res) => res.end("ok"),
    );
    await new Promise<void>(r => server.listen(0, "127.0.0.1", () => r()));
    assert.ok(capturedServers().includes(server), "the seam did not capture the server");
    const port = (server.address() as { port: number }).port;
    const host = `vmnet-operator.${ns}.svc`;
    const before = await servedSerial(port, first.caCert, host);
    assert.equal(before.serial, new crypto.X509Certificate(first.cert).serialNumber);

    let reloaded = 0;
    m.watch(renewed => {
      reloadCertificate(renewed.key, renewed.cert);
      reloaded++;
    });
    now = new Date(); // 9 days on: past 80% of the certificate's 10 days
    await eventually("the renewed certificate is reloaded", async () => reloaded > 0, 20_000);
    m.stop();
    const renewed = fromSecretData((await readSecret()).data)!;
    assert.equal(renewed.caCert, first.caCert, "the CA changed: every caBundle would have to follow");
    assert.notEqual(renewed.cert, first.cert);
    const after = await servedSerial(port, first.caCert, host);
    assert.equal(after.serial, new crypto.X509Certificate(renewed.cert).serialNumber, "the server still serves the old certificate");
    // The connection opened before the reload is still up.
    assert.equal(before.socket.destroyed, false);
    before.socket.destroy();
    after.socket.destroy();
    await new Promise(r => server.close(r));
    assert.equal(fs.readFileSync(path.join(dir, "tls.crt"), "utf8"), renewed.cert, "the files Pepr reads at start were not updated");
  });

  it("with cert-manager: serves the Secret cert-manager wrote and injects nothing", async () => {
    const ca = createCa(now, 30);
    const issued = createServingCert(ca, serviceDnsNames(["vmnet-operator"], ns), now, 30);
    const b64 = (s: string): string => Buffer.from(s).toString("base64");
    await cluster().client.create(SECRET, {
      metadata: { name: "cm-issued", namespace: ns },
      type: "kubernetes.io/tls",
      data: { "tls.crt": b64(issued.cert), "tls.key": b64(issued.key), "ca.crt": b64(ca.cert) },
    });
    const bundlesBefore = await caBundles();
    const got = await manager({ mode: "cert-manager", secret: "cm-issued" }).current();
    assert.equal(got.cert, issued.cert);
    assert.deepEqual(await caBundles(), bundlesBefore);
    await assert.rejects(manager({ mode: "cert-manager", secret: "not-issued-yet" }).current(), /CertificateNotReady|has no tls.crt/);
  });
});
