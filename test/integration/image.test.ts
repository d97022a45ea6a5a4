// The operator image (`npm run image`): built twice from one commit it has one digest; it runs as
// 65532 with the bundle as its entrypoint and carries no TypeScript or tsx; its own node binary,
// libraries and bundle serve admission against the real API server; and, where this machine can
// run containers (root, containerd and runc), the archive imports with `ctr images import` and
// the operator serves from a read-only root filesystem.
import assert from "node:assert/strict";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { buildImage, BuiltImage, IMAGE_UID } from "../../hack/image/build";
import { layerPaths, OciImage, readArchive, rootfsCommand, unpackRootfs } from "../../hack/image/inspect";
import { imageReference, operatorImage } from "../../hack/image/reference";
import { OPERATOR_NODE_OPTIONS } from "../../hack/image/node-options";
import { freePort } from "../../hack/operator-process";
import { servingCert, waitUntilServing } from "../../hack/serving";
import pkg from "../../package.json";
import { cluster } from "../setup/cluster";

const sha256 = (file: string): string => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

function get(port: number, pathname: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        path: pathname,
        method: body ? "POST" : "GET",
        rejectUnauthorized: false,
        headers: { "content-type": "application/json" },
      },
      res => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** An IPPool whose cidr is not one: the validating webhook must refuse it. */
function badPoolReview(): string {
  const kind = { group: "vmnet.io", version: "v1alpha1", kind: "IPPool" };
  const object = { apiVersion: "vmnet.io/v1alpha1", kind: "IPPool", metadata: { name: "image-test" }, spec: { cidr: "10.0.0.0/33" } };
  const resource = { group: "vmnet.io", version: "v1alpha1", resource: "ippools" };
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: crypto.randomUUID(),
      kind,
      resource,
      requestKind: kind,
      requestResource: resource,
      operation: "CREATE",
      userInfo: { username: "image-test" },
      object,
      dryRun: false,
    },
  });
}

/** The configuration a pod would get: kubeconfig, serving certificate, all readable by uid 65532. */
function podConfig(dir: string): { dir: string; token: string } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  servingCert(dir);
  fs.copyFileSync(cluster().controlPlane.kubeconfig, path.join(dir, "kubeconfig"));
  for (const f of ["tls.key", "tls.crt", "kubeconfig"]) fs.chmodSync(path.join(dir, f), 0o644);
  return { dir, token: crypto.randomBytes(8).toString("hex") };
}

async function expectServing(port: number, token: string, output: () => string): Promise<void> {
  await waitUntilServing(port).catch(err => assert.fail(`${(err as Error).message}\n${output().slice(-3000)}`));
  assert.equal((await get(port, "/healthz")).status, 200);
  const res = await get(port, `/validate/${token}`, badPoolReview());
  const review = JSON.parse(res.text) as { response: { allowed: boolean; status?: { message?: string } } };
  assert.equal(review.response.allowed, false, res.text);
  assert.match(review.response.status?.message ?? "", /cidr/i);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise(r => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
}

describe("the operator image", function () {
  this.timeout(600_000);
  let operator: BuiltImage;
  let image: OciImage;
  let work: string;
  let rootfs: string;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "vmnet-image-test-"));
    // Cached when `npm run image` ran before (as in .ci/run); built otherwise.
    operator = await buildImage("operator", { log: () => {} });
    image = readArchive(operator.archive, fs.mkdtempSync(path.join(work, "oci-")));
    rootfs = unpackRootfs(image, path.join(work, "rootfs"));
  });

  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it("builds twice from one commit to the same digest and the same archive bytes", async () => {
    const again = await buildImage("operator", { force: true, archive: path.join(work, "again.oci.tar"), log: () => {} });
    assert.equal(again.cached, false);
    assert.equal(again.digest, operator.digest);
    assert.equal(sha256(again.archive), sha256(operator.archive));
    const p1 = await buildImage("pause", { force: true, archive: path.join(work, "pause-1.oci.tar"), log: () => {} });
    const p2 = await buildImage("pause", { force: true, archive: path.join(work, "pause-2.oci.tar"), log: () => {} });
    assert.equal(p1.digest, p2.digest);
  });

  it("names the operator after package.json's version; VMNET_IMAGE_TAG and VMNET_IMAGE_LABEL make an upgrade image", async () => {
    assert.equal(operator.reference, `localhost/vmnet-operator:${pkg.version}`);
    assert.equal(image.reference, operator.reference);
    assert.equal(imageReference("operator", { VMNET_IMAGE_TAG: "0.1.0-r2" }), operatorImage("0.1.0-r2"));
    // Same content, another label: another digest (shown on the small pause image).
    const plain = await buildImage("pause", { archive: path.join(work, "p.oci.tar"), log: () => {} });
    const labelled = await buildImage("pause", {
      env: { ...process.env, VMNET_IMAGE_LABEL: "r2" },
      archive: path.join(work, "p-r2.oci.tar"),
      log: () => {},
    });
    assert.notEqual(labelled.digest, plain.digest);
    assert.equal(readArchive(labelled.archive, fs.mkdtempSync(path.join(work, "l-"))).config.config.Labels?.["io.vmnet.build"], "r2");
  });

  it("runs as 65532 with the bundle as entrypoint, and carries no TypeScript, tsx, node_modules or build-host path", () => {
    const { config } = image.config;
    assert.equal(config.User, `${IMAGE_UID}:${IMAGE_UID}`);
    assert.deepEqual(config.Entrypoint, ["/usr/local/bin/node", ...OPERATOR_NODE_OPTIONS, "/app/module.js"]);
    // No NODE_OPTIONS: Node refuses V8 flags there, and it would reach every node run in the image.
    assert.ok(!config.Env?.some(e => e.startsWith("NODE_OPTIONS=")), String(config.Env));
    assert.equal(image.config.created, "1970-01-01T00:00:00Z");
    const paths = layerPaths(image);
    assert.ok(paths.includes("usr/local/bin/node") && paths.includes("app/module.js"), paths.join(" "));
    assert.deepEqual(
      paths.filter(p => /node_modules|tsx|\.ts$|^bin\/|sh$/.test(p)),
      [],
    );
    const bundle = fs.readFileSync(path.join(rootfs, "app/module.js"), "utf8");
    assert.ok(!bundle.includes("node_modules/tsx/"), "tsx is bundled");
    for (const hostPath of [path.join(__dirname, "..", ".."), os.homedir() + "/"])
      assert.ok(!bundle.includes(hostPath), `the bundle names ${hostPath}`);
  });

  it("its own node, libraries and bundle (plain node, no tsx) serve admission against the API server", async () => {
    const [loader, ...nodeArgs] = rootfsCommand(rootfs, "usr/local/bin/node", ["--version"]);
    assert.equal(execFileSync(loader, nodeArgs, { encoding: "utf8", env: {} }).trim(), "v20.20.2");
    const cfg = podConfig(path.join(work, "host"));
    const [port, metricsPort] = [await freePort(), await freePort()];
    const [cmd, ...args] = rootfsCommand(rootfs, "usr/local/bin/node", [...OPERATOR_NODE_OPTIONS, path.join(rootfs, "app/module.js")]);
    // An admission replica as config/manager runs it; the shared test operator keeps the watches.
    const child = spawn(cmd, args, {
      env: {
        KUBECONFIG: path.join(cfg.dir, "kubeconfig"),
        SSL_KEY_PATH: path.join(cfg.dir, "tls.key"),
        SSL_CERT_PATH: path.join(cfg.dir, "tls.crt"),
        PEPR_API_PATH: cfg.token,
        PEPR_WATCH_MODE: "false",
        VMNET_WEBHOOK_PORT: String(port),
        VMNET_METRICS_PORT: String(metricsPort),
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    try {
      await expectServing(port, cfg.token, () => out);
    } finally {
      await stop(child);
    }
  });

  describe("in a container (a private containerd of its own)", function () {
    let ctr: Containerd | undefined;

    before(function () {
      const why = containerdUnavailable();
      if (why) {
        // Under CI the run must not pass without this proof, as with the node tests.
        if (process.env.CI === "true") assert.fail(`the image test cannot run: ${why}`);
        console.log(`      skipped: ${why}`);
        this.skip();
      }
      ctr = startContainerd(path.join(work, "containerd"));
    });

    after(async () => ctr?.stop());

    it("imports both archives with ctr and serves admission from a read-only root filesystem as uid 65532", async () => {
      // runc keeps its state under /run/containerd/runc/<namespace>/<id> whichever containerd
      // started it: ids of our own, so the node's containers (64-hex ids) are never met.
      const id = (name: string): string => `vmnet-image-test-${name}-${crypto.randomBytes(3).toString("hex")}`;
      const pause = await buildImage("pause", { log: () => {} });
      for (const archive of [operator.archive, pause.archive]) ctr!.run(["images", "import", archive]);
      const listed = ctr!.run(["images", "ls", "-q"]);
      assert.ok(listed.includes(operator.reference) && listed.includes(pause.reference), listed);
      const probe =
        "const fs=require('fs');let w='writable';try{fs.writeFileSync('/probe','x')}catch(e){w=e.code}console.log(process.getuid(),process.getgid(),w)";
      assert.equal(
        ctr!.run(["run", "--rm", "--read-only", operator.reference, id("probe"), "node", "-e", probe]).trim(),
        `${IMAGE_UID} ${IMAGE_UID} EROFS`,
      );
      assert.equal(ctr!.run(["run", "--rm", "--read-only", pause.reference, id("pause"), "/pause", "-v"]).trim(), "vmnet-pause 1.0");

      const cfg = podConfig(path.join(work, "pod"));
      const [port, metricsPort] = [await freePort(), await freePort()];
      const container = id("operator");
      const env = {
        KUBECONFIG: "/config/kubeconfig",
        SSL_KEY_PATH: "/config/tls.key",
        SSL_CERT_PATH: "/config/tls.crt",
        PEPR_API_PATH: cfg.token,
        PEPR_WATCH_MODE: "false",
        VMNET_WEBHOOK_PORT: String(port),
        VMNET_METRICS_PORT: String(metricsPort),
        LOG_LEVEL: "warn",
      };
      // The image's own entrypoint; host network, so the API server on loopback is reachable.
      const child = ctr!.spawn([
        "run",
        "--rm",
        "--read-only",
        "--net-host",
        "--mount",
        `type=bind,src=${cfg.dir},dst=/config,options=rbind:ro`,
        ...Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
        operator.reference,
        container,
      ]);
      let out = "";
      child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
      try {
        await expectServing(port, cfg.token, () => out);
      } finally {
        ctr!.run(["tasks", "kill", "-s", "SIGKILL", container], true);
        await new Promise(r => (child.exitCode !== null ? r(null) : child.once("exit", r)));
      }
    });
  });
});

interface Containerd {
  run(args: string[], ignoreErrors?: boolean): string;
  spawn(args: string[]): ChildProcess;
  stop(): Promise<void>;
}

function containerdUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "not root (containerd and runc need it)";
  for (const bin of ["containerd", "ctr", "runc"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${bin} || test -x /usr/sbin/${bin}`], { stdio: "ignore" });
    } catch {
      return `${bin} is not installed (Debian package containerd)`;
    }
  }
  return undefined;
}

/** A containerd with its own socket, root and state, so it never meets the node's containerd. */
function startContainerd(dir: string): Containerd {
  fs.mkdirSync(dir, { recursive: true });
  const sock = path.join(dir, "containerd.sock");
  fs.writeFileSync(
    path.join(dir, "config.toml"),
    [
      "version = 2",
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      // No CRI: nothing of Kubernetes here, and no streaming port to collide with the node's.
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      `[grpc]\n  address = "${sock}"`,
      `[ttrpc]\n  address = "${sock}.ttrpc"`,
      `[debug]\n  address = "${dir}/debug.sock"`,
      '[metrics]\n  address = ""',
      `[plugins."io.containerd.internal.v1.opt"]\n  path = "${dir}/opt"`,
    ].join("\n") + "\n",
  );
  const log = fs.openSync(path.join(dir, "containerd.log"), "w");
  const daemon = spawn("containerd", ["--config", path.join(dir, "config.toml")], { stdio: ["ignore", log, log] });
  const ctrArgs = (args: string[]): string[] => ["--address", sock, "-n", "k8s.io", ...args];
  const run = (args: string[], ignoreErrors = false): string => {
    try {
      return execFileSync("ctr", ctrArgs(args), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      if (ignoreErrors) return "";
      throw new Error(
        `ctr ${args.join(" ")}: ${(err as { stderr?: string }).stderr ?? String(err)}\n${fs.readFileSync(path.join(dir, "containerd.log"), "utf8").slice(-2000)}`,
      );
    }
  };
  for (let i = 0; i < 100 && !fs.existsSync(sock); i++) execFileSync("sleep", ["0.1"]);
  run(["version"]);
  return {
    run,
    spawn: args => spawn("ctr", ctrArgs(args), { stdio: ["ignore", "pipe", "pipe"] }),
    stop: async () => {
      const exited = new Promise(r => daemon.once("exit", r));
      daemon.kill("SIGTERM");
      await exited;
      // Its overlay snapshots may still be mounted under root/ after a kill: unmount, then remove.
      execFileSync("sh", ["-c", `grep -o " ${dir}/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`], { stdio: "ignore" });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
