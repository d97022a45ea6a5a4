// The one home of the local stand-ins' certificates made with openssl: a self-signed CA and leaf
// certificates it signs. hack/control-plane.ts (the cluster's PKI) and hack/serving.ts (the
// webhook's serving certificate) both draw on it; it imports nothing of the project.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** Runs openssl in `cwd`; its stderr is kept so a failure says why. */
export function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** ca.key and ca.crt in `dir`: an RSA-2048 CA with `subject` (such as "/CN=vmnet-local-ca"), valid `days`. */
export function selfSignedCa(dir: string, subject: string, days: number): void {
  openssl(
    [
      "req",
      "-x509",
      "-new",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      String(days),
      "-subj",
      subject,
    ],
    dir,
  );
}

/**
 * `name`.key and `name`.crt in `dir`, signed by the CA of selfSignedCa there, with `subject` and
 * the X.509v3 `extensions` (openssl's extfile text: SANs, key and extended key usage).
 */
export function signedByCa(dir: string, name: string, subject: string, extensions: string, days: number): void {
  fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
  openssl(
    ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", String(days)].concat([
      "-out",
      `${name}.crt`,
      "-extfile",
      `${name}.ext`,
    ]),
    dir,
  );
}
