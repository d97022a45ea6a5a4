// Self-managed TLS, the pure part: what a new CA and serving certificate hold, and when they are
// kept, renewed or replaced.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import {
  checkMaterial,
  createCa,
  createServingCert,
  dueForRenewal,
  fromSecretData,
  plan,
  serviceDnsNames,
  toSecretData,
  UnusableCertificateError,
} from "../../../capabilities/tls/certs";

const DAY = 86400_000;
const names = serviceDnsNames(["vmnet-operator"], "tenant-ops");
const lifetimes = { caDays: 100, certDays: 10, renewFraction: 0.2 };

describe("self-managed TLS material", function () {
  this.timeout(60_000);
  const t0 = new Date("2026-01-01T00:00:00Z");
  const first = plan(undefined, names, t0, lifetimes)!;

  it("names the Service in every form the API server may dial", () => {
    assert.deepEqual(names, [
      "vmnet-operator",
      "vmnet-operator.tenant-ops",
      "vmnet-operator.tenant-ops.svc",
      "vmnet-operator.tenant-ops.svc.cluster.local",
    ]);
  });

  it("makes a CA and a serving certificate for those names, signed by it, for server auth only", () => {
    const ca = new crypto.X509Certificate(first.caCert);
    const cert = new crypto.X509Certificate(first.cert);
    assert.ok(ca.ca && !cert.ca);
    assert.ok(cert.verify(ca.publicKey));
    assert.equal(cert.issuer, ca.subject);
    for (const n of names) assert.ok(cert.checkHost(n, { wildcards: false }), n);
    assert.equal(cert.checkHost("vmnet-operator.other.svc"), undefined);
    assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
    assert.ok(cert.checkPrivateKey(crypto.createPrivateKey(first.key)));
    checkMaterial(first, names, t0);
  });

  it("keeps sound material that is not due", () => {
    assert.equal(plan(first, names, new Date(t0.getTime() + 7 * DAY), lifetimes), undefined);
  });

  it("renews the serving certificate once 80% of its life is gone, and keeps the CA (the caBundle stays put)", () => {
    const at = new Date(t0.getTime() + 8.5 * DAY);
    assert.ok(dueForRenewal(first.cert, at, 0.2));
    const next = plan(first, names, at, lifetimes)!;
    assert.equal(next.caCert, first.caCert);
    assert.equal(next.caKey, first.caKey);
    assert.notEqual(next.cert, first.cert);
    checkMaterial(next, names, at);
  });

  it("replaces the CA (and so the certificate) once the CA is due", () => {
    const at = new Date(t0.getTime() + 85 * DAY);
    const next = plan(first, names, at, lifetimes)!;
    assert.notEqual(next.caCert, first.caCert);
    checkMaterial(next, names, at);
  });

  it("never issues a certificate that outlives its CA", () => {
    const ca = createCa(t0, 5);
    const cert = new crypto.X509Certificate(createServingCert(ca, names, t0, 365).cert);
    assert.ok(Date.parse(cert.validTo) <= Date.parse(new crypto.X509Certificate(ca.cert).validTo));
  });

  it("re-issues a certificate that does not cover the names (the install moved to another namespace)", () => {
    const elsewhere = serviceDnsNames(["vmnet-operator"], "pepr-system");
    assert.throws(() => checkMaterial(first, elsewhere, t0), UnusableCertificateError);
    const next = plan(first, elsewhere, t0, lifetimes)!;
    assert.equal(next.caCert, first.caCert);
    checkMaterial(next, elsewhere, t0);
  });

  it("refuses a key that does not belong to the certificate, and starts over from such a Secret", () => {
    const other = plan(undefined, names, t0, lifetimes)!;
    const mixed = { ...first, key: other.key };
    assert.throws(() => checkMaterial(mixed, names, t0), /private key does not match/);
    const fixed = plan(mixed, names, t0, lifetimes)!;
    checkMaterial(fixed, names, t0);
  });

  it("round-trips through Secret data, and a Secret missing a field reads as none", () => {
    const data = toSecretData(first);
    assert.deepEqual(Object.keys(data).sort(), ["ca.crt", "ca.key", "tls.crt", "tls.key"]);
    assert.deepEqual(fromSecretData(data), first);
    const { ["ca.key"]: _dropped, ...partial } = data;
    assert.equal(fromSecretData(partial), undefined);
  });
});
