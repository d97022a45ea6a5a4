// The I/O part of TLS for the admission server (pure rules: ./certs.ts). In "self-managed" mode it
// keeps a CA and serving certificate in the Secret (creating or renewing them when due), injects
// the CA into our webhook configurations' caBundle, and hands each new certificate to the running
// server (./server.ts). In "cert-manager" mode cert-manager writes the Secret and its cainjector
// the caBundle; this only reads the Secret and reloads. Every replica runs it: writes carry
// resourceVersion preconditions, so racing replicas converge on one certificate.
import fs from "node:fs";
import path from "node:path";
import { KubeClient, KubeObject } from "../k8s/client";
import { ApiError, errorText, isAlreadyExists, isConflict } from "../k8s/errors";
import { KindRef, Kinds } from "../k8s/kinds";
import { logger } from "../log";
import { DEFAULT_LIFETIMES, fromSecretData, Lifetimes, plan, SECRET_KEYS, serviceDnsNames, TlsMaterial, toSecretData } from "./certs";

export const SECRET: KindRef = { apiVersion: "v1", kind: "Secret", plural: "secrets", namespaced: true };

export type TlsMode = "self-managed" | "cert-manager";

export interface TlsSettings {
  mode: TlsMode;
  namespace: string;
  secret: string;
  /** Services whose DNS names the certificate covers. */
  services: string[];
  /** Mutating and validating webhook configurations (same name) whose caBundle we keep. */
  webhookConfigs: string[];
  /** Where Pepr reads tls.key and tls.crt at start (an emptyDir: the root filesystem is read-only). */
  certDir: string;
  checkSeconds: number;
  lifetimes?: Lifetimes;
}

/** The mode's Secret has no usable certificate yet (cert-manager has not issued it). */
export class CertificateNotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CertificateNotReadyError";
  }
}

interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

const log = logger("tls");

export class TlsManager {
  #served: { key: string; cert: string } | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: KubeClient,
    readonly settings: TlsSettings,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  get dnsNames(): string[] {
    return serviceDnsNames(this.settings.services, this.settings.namespace);
  }

  /** The key pair to serve now: from the Secret, made or renewed first in self-managed mode. */
  async current(): Promise<{ key: string; cert: string; ca: string }> {
    if (this.settings.mode === "cert-manager") return this.#readIssued();
    const m = await this.#ensureSelfManaged();
    await this.injectCaBundle(m.caCert);
    return { key: m.key, cert: m.cert, ca: m.caCert };
  }

  /** Writes the pair where Pepr reads it at start (SSL_KEY_PATH/SSL_CERT_PATH). */
  writeFiles(pair: { key: string; cert: string }): { keyPath: string; certPath: string } {
    fs.mkdirSync(this.settings.certDir, { recursive: true, mode: 0o700 });
    const keyPath = path.join(this.settings.certDir, "tls.key");
    const certPath = path.join(this.settings.certDir, "tls.crt");
    fs.writeFileSync(keyPath, pair.key, { mode: 0o600 });
    fs.writeFileSync(certPath, pair.cert);
    this.#served = { key: pair.key, cert: pair.cert };
    return { keyPath, certPath };
  }

  /** Re-checks every checkSeconds; calls onRenewed with each new pair (the caller reloads the server). */
  watch(onRenewed: (pair: { key: string; cert: string }) => void): void {
    const tick = async (): Promise<void> => {
      try {
        const pair = await this.current();
        if (this.#served && pair.cert === this.#served.cert && pair.key === this.#served.key) return;
        this.writeFiles(pair);
        onRenewed(pair);
      } catch (err) {
        log.warn(`certificate check failed (retrying in ${this.settings.checkSeconds} s): ${errorText(err)}`);
      }
    };
    this.#timer = setInterval(() => void tick(), this.settings.checkSeconds * 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  async #readIssued(): Promise<{ key: string; cert: string; ca: string }> {
    const s = await this.client.getOrUndefined<Secret>(SECRET, this.settings.secret, this.settings.namespace);
    const get = (k: string): string | undefined => (s?.data?.[k] ? Buffer.from(s.data[k], "base64").toString("utf8") : undefined);
    const key = get(SECRET_KEYS.key);
    const cert = get(SECRET_KEYS.cert);
    if (!key || !cert)
      throw new CertificateNotReadyError(
        `Secret ${this.settings.namespace}/${this.settings.secret} has no tls.crt and tls.key yet (cert-manager issues it)`,
      );
    return { key, cert, ca: get(SECRET_KEYS.caCert) ?? "" };
  }

  /** Reads the Secret; creates or renews what is due. A lost race re-reads the winner's Secret. */
  async #ensureSelfManaged(): Promise<TlsMaterial> {
    for (let attempt = 1; ; attempt++) {
      const secret = await this.client.getOrUndefined<Secret>(SECRET, this.settings.secret, this.settings.namespace);
      const have = fromSecretData(secret?.data);
      const next = plan(have, this.dnsNames, this.clock(), this.settings.lifetimes ?? DEFAULT_LIFETIMES);
      if (!next) return have!;
      try {
        await this.#write(secret, next);
        log.info(
          { secret: `${this.settings.namespace}/${this.settings.secret}`, renewedCa: next.caCert !== have?.caCert },
          have ? "renewed the serving certificate" : "created the CA and serving certificate",
        );
        return next;
      } catch (err) {
        if (!(isAlreadyExists(err) || isConflict(err)) || attempt >= 5) throw err;
      }
    }
  }

  async #write(existing: Secret | undefined, m: TlsMaterial): Promise<void> {
    const { namespace, secret: name } = this.settings;
    // The CA key stays in the Secret: the next renewal signs with it, so the caBundle stays put.
    const body: Secret = {
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/tls",
      metadata: {
        name,
        namespace,
        labels: { "app.kubernetes.io/managed-by": "vmnet-operator", "app.kubernetes.io/component": "webhook-tls" },
      },
      data: toSecretData(m),
    };
    if (!existing) {
      await this.client.create(SECRET, body);
      return;
    }
    await this.client.request({
      method: "PUT",
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
      body: {
        ...existing,
        ...body,
        metadata: { ...existing.metadata, labels: { ...(existing.metadata?.labels ?? {}), ...body.metadata!.labels } },
      },
      what: `update Secret ${namespace}/${name}`,
    });
  }

  /** Puts the CA into every webhook of our configurations whose caBundle differs (JSON patch, resourceVersion-tested). */
  async injectCaBundle(caPem: string): Promise<number> {
    const bundle = Buffer.from(caPem).toString("base64");
    let patched = 0;
    for (const kind of [Kinds.MutatingWebhookConfiguration, Kinds.ValidatingWebhookConfiguration]) {
      for (const name of this.settings.webhookConfigs) patched += await this.#injectInto(kind, name, bundle);
    }
    return patched;
  }

  /** Puts the CA into every webhook of one configuration that lacks it; returns how many it patched. */
  async #injectInto(kind: KindRef, name: string, bundle: string): Promise<number> {
    const config = await this.client.getOrUndefined<KubeObject & { webhooks?: { clientConfig?: { caBundle?: string } }[] }>(kind, name);
    if (!config) return 0; // not installed (yet): the next check injects it
    const ops = (config.webhooks ?? []).flatMap((w, i) =>
      w.clientConfig?.caBundle === bundle ? [] : [{ op: "add", path: `/webhooks/${i}/clientConfig/caBundle`, value: bundle }],
    );
    if (!ops.length) return 0;
    try {
      await this.client.jsonPatch(kind, name, undefined, [
        { op: "test", path: "/metadata/resourceVersion", value: config.metadata?.resourceVersion },
        ...ops,
      ]);
      log.info({ kind: kind.kind, name, webhooks: ops.length }, "injected the CA into the webhook caBundle");
      return ops.length;
    } catch (err) {
      // Another replica patched first (the test failed): the next check sees its result.
      // (A failed `test` op answers 422; a deleted configuration 404.)
      if (!(err instanceof ApiError && [404, 409, 422].includes(err.status))) throw err;
      return 0;
    }
  }
}
