// The pure part of self-managed TLS: a CA and a serving certificate for the admission Service's
// DNS names (node-forge), and the rules for when to renew them. The pattern of
// open-policy-agent/cert-controller: a long-lived CA and a shorter serving certificate, both
// renewed well before they expire; the CA goes into the webhooks' caBundle.
import crypto from "node:crypto";
import forge from "node-forge";

/** The four PEM fields kept in the Secret (kubernetes.io/tls plus the CA). */
export interface TlsMaterial {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

export const SECRET_KEYS = { caCert: "ca.crt", caKey: "ca.key", cert: "tls.crt", key: "tls.key" } as const;

export interface Lifetimes {
  /** How long a new CA is valid. */
  caDays: number;
  /** How long a new serving certificate is valid. */
  certDays: number;
  /** Renew once less than this fraction of a certificate's lifetime remains. */
  renewFraction: number;
}

export const DEFAULT_LIFETIMES: Lifetimes = { caDays: 3650, certDays: 365, renewFraction: 0.2 };

/** A refusal to use material that cannot serve: callers renew on it. */
export class UnusableCertificateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnusableCertificateError";
  }
}

/** The DNS names a Service answers to from inside the cluster. */
export function serviceDnsNames(services: string[], namespace: string): string[] {
  return services.flatMap(s => [s, `${s}.${namespace}`, `${s}.${namespace}.svc`, `${s}.${namespace}.svc.cluster.local`]);
}

const serial = (): string => `01${crypto.randomBytes(15).toString("hex")}`; // positive, 16 bytes

function keyPair(): forge.pki.rsa.KeyPair {
  // RSA 2048: what the API server, kubelets and every TLS stack accept; ~100 ms in forge's JS.
  return forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
}

function validity(cert: forge.pki.Certificate, now: Date, days: number): void {
  // Backdated an hour: a node whose clock lags a little still accepts a fresh certificate.
  cert.validity.notBefore = new Date(now.getTime() - 3600_000);
  cert.validity.notAfter = new Date(now.getTime() + days * 86400_000);
}

export function createCa(now: Date, days: number, commonName = "vmnet-operator-webhook-ca"): { cert: string; key: string } {
  const keys = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, now, days);
  const subject = [{ name: "commonName", value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

export function createServingCert(ca: { cert: string; key: string }, dnsNames: string[], now: Date, days: number): { cert: string; key: string } {
  if (!dnsNames.length) throw new Error("a serving certificate needs at least one DNS name");
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const keys = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  // Never outlive the CA that signs it.
  validity(cert, now, Math.min(days, (caCert.validity.notAfter.getTime() - now.getTime()) / 86400_000));
  cert.setSubject([{ name: "commonName", value: dnsNames[0] }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectAltName", altNames: dnsNames.map(value => ({ type: 2, value })) },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

/** True once less than `fraction` of the certificate's lifetime remains (or it is not valid yet). */
export function dueForRenewal(pem: string, now: Date, fraction: number): boolean {
  const cert = new crypto.X509Certificate(pem);
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (now.getTime() < from) return true;
  return to - now.getTime() < (to - from) * fraction;
}

/**
 * Checks that the material can serve the given names now: the certificate chains to the CA, the
 * key matches, every name is covered. Throws UnusableCertificateError with the reason.
 */
export function checkMaterial(m: TlsMaterial, dnsNames: string[], now: Date): void {
  let ca: crypto.X509Certificate;
  let cert: crypto.X509Certificate;
  try {
    ca = new crypto.X509Certificate(m.caCert);
    cert = new crypto.X509Certificate(m.cert);
  } catch (err) {
    throw new UnusableCertificateError(`unreadable certificate: ${(err as Error).message}`);
  }
  if (!cert.verify(ca.publicKey)) throw new UnusableCertificateError("the serving certificate is not signed by the CA");
  if (!cert.checkPrivateKey(crypto.createPrivateKey(m.key))) throw new UnusableCertificateError("the private key does not match the serving certificate");
  if (!ca.checkPrivateKey(crypto.createPrivateKey(m.caKey))) throw new UnusableCertificateError("the CA key does not match the CA certificate");
  for (const name of dnsNames) {
    if (!cert.checkHost(name, { wildcards: false })) throw new UnusableCertificateError(`the serving certificate does not cover ${name}`);
  }
  if (Date.parse(cert.validTo) <= now.getTime()) throw new UnusableCertificateError("the serving certificate has expired");
}

/**
 * What to keep and what to make: the CA is kept while it is sound and not due (so the caBundle
 * stays put), the serving certificate is renewed when due, unusable, or when the CA changed.
 */
export function plan(current: TlsMaterial | undefined, dnsNames: string[], now: Date, l: Lifetimes = DEFAULT_LIFETIMES): TlsMaterial | undefined {
  let caUsable = false;
  if (current) {
    try {
      caUsable = new crypto.X509Certificate(current.caCert).checkPrivateKey(crypto.createPrivateKey(current.caKey)) && !dueForRenewal(current.caCert, now, l.renewFraction);
    } catch {
      caUsable = false;
    }
  }
  if (current && caUsable) {
    try {
      checkMaterial(current, dnsNames, now);
      if (!dueForRenewal(current.cert, now, l.renewFraction)) return undefined; // nothing to do
    } catch (err) {
      if (!(err instanceof UnusableCertificateError)) throw err;
    }
    const serving = createServingCert({ cert: current.caCert, key: current.caKey }, dnsNames, now, l.certDays);
    return { caCert: current.caCert, caKey: current.caKey, ...serving };
  }
  const ca = createCa(now, l.caDays);
  const serving = createServingCert(ca, dnsNames, now, l.certDays);
  return { caCert: ca.cert, caKey: ca.key, ...serving };
}

/** Secret data (base64 values) <-> material. Missing fields give undefined. */
export function fromSecretData(data: Record<string, string> | undefined): TlsMaterial | undefined {
  if (!data) return undefined;
  const get = (k: string): string | undefined => (data[k] ? Buffer.from(data[k], "base64").toString("utf8") : undefined);
  const m = { caCert: get(SECRET_KEYS.caCert), caKey: get(SECRET_KEYS.caKey), cert: get(SECRET_KEYS.cert), key: get(SECRET_KEYS.key) };
  return m.caCert && m.caKey && m.cert && m.key ? (m as TlsMaterial) : undefined;
}

export function toSecretData(m: TlsMaterial): Record<string, string> {
  return Object.fromEntries(Object.entries(SECRET_KEYS).map(([field, key]) => [key, Buffer.from(m[field as keyof TlsMaterial]).toString("base64")]));
}
