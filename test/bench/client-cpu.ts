// CPU of the operator's side of a write: the same creates sent through undici's WHATWG fetch (how
// KubeClient sent every request before) and through its dispatcher API (how it does now), against
// a local API server, at the scale run's concurrency. Prints this process's CPU per request for
// each. Not a test:
//   npx tsx test/bench/client-cpu.ts [--requests 400] [--rounds 2]
import fs from "node:fs";
import { Agent, fetch } from "undici";
import { KubeConfig } from "@kubernetes/client-node";
import { startControlPlane } from "../../hack/control-plane";
import { pool } from "./scale";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

type Send = (path: string, body: string) => Promise<number>;

function senders(server: string, agent: Agent): Record<"fetch" | "request", Send> {
  const headers = { "content-type": "application/json", accept: "application/json" };
  const origin = new URL(server).origin;
  return {
    fetch: async (path, body) => {
      const res = await fetch(origin + path, { method: "POST", body, headers, dispatcher: agent });
      JSON.parse(await res.text());
      return res.status;
    },
    request: async (path, body) => {
      const res = await agent.request({ origin, path, method: "POST", body, headers });
      JSON.parse(await res.body.text());
      return res.statusCode;
    },
  };
}

/** `n` ConfigMap creates through `send` at concurrency 32: CPU milliseconds of this process per request, and wall seconds. */
async function measure(send: Send, label: string, n: number): Promise<{ cpuMsPerRequest: number; seconds: number }> {
  const path = "/api/v1/namespaces/default/configmaps";
  const bodies = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `${label}-${i}` }, data: { a: "b" } }),
  );
  const [cpu0, t0] = [process.cpuUsage(), Date.now()];
  await pool(bodies, 32, async body => {
    const status = await send(path, body);
    if (status !== 201) throw new Error(`create answered ${status}`);
  });
  const used = process.cpuUsage(cpu0);
  return { cpuMsPerRequest: (used.user + used.system) / 1000 / n, seconds: (Date.now() - t0) / 1000 };
}

async function main(): Promise<void> {
  const n = arg("requests", 400);
  const cp = await startControlPlane();
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    const user = kc.getCurrentUser()!;
    const agent = new Agent({
      connections: 32,
      connect: {
        ca: fs.readFileSync(cp.caCertFile),
        cert: Buffer.from(user.certData!, "base64"),
        key: Buffer.from(user.keyData!, "base64"),
      },
    });
    const send = senders(cp.server, agent);
    await measure(send.request, "warm", 100); // connections open, JIT warm for both
    for (let round = 0; round < arg("rounds", 2); round++) {
      for (const way of ["fetch", "request"] as const) {
        const m = await measure(send[way], `${way}-${round}`, n);
        console.log(
          `${way.padEnd(7)} round ${round}: ${n} creates in ${m.seconds.toFixed(1)} s, client CPU ${m.cpuMsPerRequest.toFixed(2)} ms per request`,
        );
      }
    }
    await agent.close();
  } finally {
    await cp.stop();
  }
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
