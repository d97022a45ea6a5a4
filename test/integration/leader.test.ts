// Leader election through a real Lease with two processes: one leads, the other follows; a
// leader stopped with SIGTERM hands over at once (it clears the holder), a killed one after the
// lease duration; never two leaders at once by the Lease's record.
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { Lease, LEASE } from "../../capabilities/k8s/lease";
import { eventually } from "../helpers";
import { cluster, freshNamespace } from "../setup/cluster";

const ROOT = path.join(__dirname, "..", "..");

interface Candidate {
  id: string;
  proc: ChildProcess;
  events: { event: string; at: number; reason?: string; holder?: string }[];
}

function candidate(lease: string, namespace: string, id: string): Candidate {
  const proc = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "test", "fixtures", "elector.ts"), lease, namespace, id], {
    cwd: ROOT,
    env: { ...process.env, KUBECONFIG: cluster().controlPlane.kubeconfig },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const c: Candidate = { id, proc, events: [] };
  readline.createInterface({ input: proc.stdout! }).on("line", line => {
    try {
      c.events.push(JSON.parse(line));
    } catch {
      /* not ours */
    }
  });
  return c;
}

const leads = (c: Candidate): boolean => {
  const last = [...c.events].reverse().find(e => e.event === "leading" || e.event === "stopped");
  return last?.event === "leading";
};

const stop = (c: Candidate, signal: NodeJS.Signals): Promise<void> =>
  new Promise(resolve => {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) return resolve();
    c.proc.once("exit", () => resolve());
    c.proc.kill(signal);
  });

describe("leader election through a coordination.k8s.io Lease, two processes", function () {
  this.timeout(300_000);
  let ns = "";
  const all: Candidate[] = [];
  const holder = async (name: string): Promise<string | undefined> =>
    (await cluster().client.getOrUndefined<Lease>(LEASE, name, ns))?.spec?.holderIdentity;

  before(async () => {
    ns = await freshNamespace("lease");
  });

  after(async () => {
    await Promise.all(all.map(c => stop(c, "SIGKILL")));
  });

  it("elects one leader; SIGTERM hands over at once; a killed leader is replaced after the lease duration", async () => {
    const a = candidate("watcher", ns, "a");
    const b = candidate("watcher", ns, "b");
    all.push(a, b);
    // Generous start-up budget: two tsx processes compile the client on a loaded machine.
    const first = await eventually("one candidate leads", async () => [a, b].find(leads), 120_000);
    const other = first === a ? b : a;
    assert.equal(await holder("watcher"), first.id);
    await eventually(
      `${other.id} follows ${first.id}`,
      async () => other.events.some(e => e.event === "following" && e.holder === first.id),
      120_000,
    ).catch(err => {
      throw new Error(`${err}; events: ${JSON.stringify([a.events, b.events])}`);
    });
    // Both keep running for a while: still exactly one leader.
    await new Promise(r => setTimeout(r, 2000));
    assert.deepEqual(
      [a, b].filter(leads).map(c => c.id),
      [first.id],
    );

    const t0 = Date.now();
    await stop(first, "SIGTERM");
    await eventually(`${other.id} takes over after a release`, async () => leads(other), 10_000);
    const handover = Date.now() - t0;
    assert.ok(handover < 2500, `a released Lease was taken after ${handover} ms`);
    assert.equal(await holder("watcher"), other.id);

    const c = candidate("watcher", ns, "c");
    all.push(c);
    await eventually("c follows", async () => c.events.some(e => e.event === "following"), 120_000);
    const t1 = Date.now();
    await stop(other, "SIGKILL");
    await eventually("c takes over from a killed leader", async () => leads(c), 15_000);
    const takeover = Date.now() - t1;
    assert.ok(takeover >= 2500, `took over a live-looking Lease after ${takeover} ms (lease duration 3 s)`);
    console.log(`      handover after SIGTERM: ${handover} ms; takeover after SIGKILL: ${takeover} ms (lease 3 s)`);
    const lease = await cluster().client.get<Lease>(LEASE, "watcher", ns);
    assert.ok((lease.spec?.leaseTransitions ?? 0) >= 2, JSON.stringify(lease.spec));
  });
});
