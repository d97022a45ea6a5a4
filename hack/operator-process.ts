// Runs the operator (hack/run-operator.ts) as a child process, as in production its own process
// with its own caches: the demo runs one, tests restart it or kill it with SIGKILL.
import { ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";

export interface OperatorProcess {
  port: number;
  metricsPort: number;
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const ROOT = path.join(__dirname, "..");

export async function freePort(): Promise<number> {
  return new Promise(resolve => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Fast timers for tests: short resync and garbage-sweep grace, so tests finish in seconds. */
export const TEST_OPERATOR_ENV = {
  VMNET_RESYNC_SECONDS: "10",
  VMNET_GC_INTERVAL_SECONDS: "1",
  VMNET_GC_GRACE_SECONDS: "2",
  LOG_LEVEL: "warn",
};

export async function startOperator(
  env: Record<string, string> = {},
  opts: { testTimers?: boolean } = { testTimers: true },
): Promise<OperatorProcess> {
  const port = await freePort();
  const metricsPort = await freePort();
  // One Node process with tsx's require hook (no tsx CLI wrapper process in between), so signals,
  // memory figures and VMNET_OPERATOR_NODE_ARGS (e.g. --cpu-prof) apply to the operator itself.
  // With VMNET_OPERATOR_BUNDLE the operator is the bundle's child process: it gets them there.
  const merged = { ...process.env, ...env };
  const nodeArgs = merged.VMNET_OPERATOR_BUNDLE ? [] : (merged.VMNET_OPERATOR_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", path.join(ROOT, "hack", "run-operator.ts")], {
    env: {
      ...process.env,
      ...(opts.testTimers ? TEST_OPERATOR_ENV : {}),
      VMNET_WEBHOOK_PORT: String(port),
      VMNET_METRICS_PORT: String(metricsPort),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.length > 2_000_000) out = out.slice(-1_000_000);
      if (out.includes("[operator] serving admission")) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", code => reject(new Error(`operator exited with ${code} before it was ready:\n${out.slice(-3000)}`)));
  });
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`operator not ready in 120 s:\n${out.slice(-3000)}`)), 120_000).unref(),
  );
  await Promise.race([ready, timeout]);
  return {
    port,
    metricsPort,
    child,
    output: () => out,
    stop: async (signal: NodeJS.Signals = "SIGTERM") => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise(r => child.once("exit", r));
      child.kill(signal);
      // Pepr closes its server gracefully on SIGTERM, which waits for the API server's idle
      // keep-alive connections to the webhook: give it a few seconds, then SIGKILL.
      const force = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(force);
    },
  };
}
