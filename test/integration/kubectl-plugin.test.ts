// The kubectl plugin run as kubectl runs it (bin/kubectl-vmnet as a child process) against the real
// API server and the operator: tables of pools and NICs, and `why` for a bound VM, a VM whose
// pool is exhausted, a VM on a network no pool serves and one whose NAD lacks static IPAM; the
// audit (check) clean on a healthy namespace and failing on a leak and on a Bound claim naming no
// pool, each planted through the API, and launcher pods compared with the claims (an address and
// MAC planted in a pod's annotations), and the bundled single file run from a directory with no
// checkout.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { IPPool } from "../../capabilities/api/ippool-v1alpha1";
import { allocationName } from "../../capabilities/ipam/address";
import { bundlePlugin } from "../../hack/build-plugin";
import { Kinds } from "../../capabilities/k8s/kinds";
import type { KubeObject } from "../../capabilities/k8s/client";
import { launcherInterfaceName } from "../../capabilities/domain/launcher-pod";
import { boundClaim, claimCondition, createNad, createPool, eventually, uniqueSubnet, vmManifest } from "../helpers";
import { cluster, duringWebhookOutage, freshNamespace, launcherClient, restartOperator } from "../setup/cluster";

const PLUGIN = path.join(__dirname, "..", "..", "bin", "kubectl-vmnet");
const NETWORKS = "k8s.v1.cni.cncf.io/networks";
const NETWORK_STATUS = "k8s.v1.cni.cncf.io/network-status";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the plugin; `env` replaces KUBECONFIG handling when given. */
function plugin(args: string[], env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: cluster().controlPlane.kubeconfig }): Promise<Run> {
  return new Promise(resolve => {
    execFile(PLUGIN, args, { env, timeout: 240_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function exits(code: number, args: string[]): Promise<string> {
  const run = await plugin(args);
  assert.equal(run.code, code, `kubectl vmnet ${args.join(" ")} exited ${run.code}, not ${code}:\n${run.stderr}${run.stdout}`);
  return run.stdout;
}

const ok = (args: string[]): Promise<string> => exits(0, args);
/** Exit code 2: the verb ran and printed problems. */
const problems = (args: string[]): Promise<string> => exits(2, args);

/** Parses kubectl-style output by the header's column positions, so misaligned columns fail. */
function table(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trimEnd().split("\n");
  const starts = [...header.matchAll(/\S+/g)].map(m => ({ name: m[0], at: m.index ?? 0 }));
  return lines.map(line => {
    const row: Record<string, string> = {};
    starts.forEach((col, i) => {
      assert.ok(col.at === 0 || line[col.at - 1] === " ", `column ${col.name} is not aligned in: ${line}`);
      row[col.name] = line.slice(col.at, starts[i + 1]?.at).trim();
    });
    return row;
  });
}

function rowOf(rows: Record<string, string>[], where: Record<string, string>): Record<string, string> {
  const row = rows.find(r => Object.entries(where).every(([k, v]) => r[k] === v));
  assert.ok(row, `no row with ${JSON.stringify(where)} in ${JSON.stringify(rows, null, 1)}`);
  return row;
}

describe("kubectl vmnet plugin", () => {
  let ns: string;
  let main: { pool: string; prefix: string };
  let tiny: { pool: string; prefix: string };
  let legacyPool: string;

  before(async () => {
    ns = await freshNamespace("plugin");
    main = { pool: `main-${ns}`, prefix: uniqueSubnet().prefix };
    tiny = { pool: `tiny-${ns}`, prefix: uniqueSubnet().prefix };
    legacyPool = `legacy-${ns}`;
    const legacySubnet = uniqueSubnet();
    const hostLocal = JSON.stringify({
      cniVersion: "0.4.0",
      type: "ovs",
      bridge: "br-vmnet",
      ipam: { type: "host-local", subnet: legacySubnet.cidr },
    });
    await Promise.all([createNad(ns, "vlan100"), createNad(ns, "tiny"), createNad(ns, "nopool"), createNad(ns, "legacy", hostLocal)]);
    await createPool(main.pool, { cidr: `${main.prefix}.0/24`, gateway: `${main.prefix}.1`, networks: [`${ns}/vlan100`] });
    await createPool(tiny.pool, {
      cidr: `${tiny.prefix}.0/24`,
      ranges: [`${tiny.prefix}.10`],
      networks: [`${ns}/tiny`],
      reclaimPolicy: "Retain",
    });
    await createPool(legacyPool, { cidr: legacySubnet.cidr, networks: [`${ns}/legacy`] });
    const create = (name: string, nics: Parameters<typeof vmManifest>[2]): Promise<unknown> =>
      cluster().client.create(Kinds.VirtualMachine, vmManifest(ns, name, nics));
    await create("web", [{ name: "default" }, { name: "ovs1", network: "vlan100" }]);
    await create("full-1", [{ name: "ovs1", network: "tiny" }]);
    await create("orphan", [{ name: "ovs1", network: "nopool" }]);
    await create("legacy", [{ name: "ovs1", network: "legacy" }]);
    await Promise.all([boundClaim(ns, "web.ovs1"), boundClaim(ns, "full-1.ovs1"), boundClaim(ns, "legacy.ovs1")]);
    await create("full-2", [{ name: "ovs1", network: "tiny" }]);
    await claimCondition(ns, "full-2.ovs1", "Exhausted");
    await eventually("pool statuses", async () => {
      const [m, t] = await Promise.all([
        cluster().client.get<IPPool>(Kinds.IPPool, main.pool),
        cluster().client.get<IPPool>(Kinds.IPPool, tiny.pool),
      ]);
      return m.status?.allocated === 1 && t.status?.available === 0;
    });
  });

  // The pools stay, as in the other suites: the webhook refuses deleting a pool before it drains.
  after(async () => {
    await cluster().client.delete(Kinds.Namespace, ns);
  });

  it("pools: counts, readiness with its message, reclaim policy, in aligned columns", async () => {
    const rows = table(await ok(["pools"]));
    assert.deepEqual(rowOf(rows, { NAME: main.pool }), {
      NAME: main.pool,
      CIDR: `${main.prefix}.0/24`,
      NETWORKS: `${ns}/vlan100`,
      CAPACITY: "253",
      ALLOCATED: "1",
      AVAILABLE: "252",
      READY: "True",
      RECLAIM: "Delete",
    });
    const full = rowOf(rows, { NAME: tiny.pool });
    assert.deepEqual([full.CAPACITY, full.ALLOCATED, full.AVAILABLE, full.RECLAIM], ["1", "1", "0", "Retain"]);
    assert.match(
      rowOf(rows, { NAME: legacyPool }).READY,
      new RegExp(`^False: NetworkAttachmentDefinition ${ns}/legacy: the IPAM of CNI plugin "ovs" is "host-local"`),
    );
  });

  it("ips -n and -A: every NIC with network, pool, address, MAC and state; a VM name narrows it", async () => {
    const rows = table(await ok(["ips", "-n", ns]));
    assert.deepEqual(
      rows.map(r => `${r.VM}/${r.INTERFACE}`),
      ["full-1/ovs1", "full-2/ovs1", "legacy/ovs1", "orphan/ovs1", "web/default", "web/ovs1"],
    );
    const web = rowOf(rows, { VM: "web", INTERFACE: "ovs1" });
    assert.deepEqual(
      [web.NAMESPACE, web.NETWORK, web.POOL, web.ADDRESSES, web.STATE],
      [ns, `${ns}/vlan100`, main.pool, `${main.prefix}.2/24`, "Bound"],
    );
    assert.match(web.MAC, /^02:00(:[0-9a-f]{2}){4}$/);
    assert.deepEqual(rowOf(rows, { VM: "full-1" }).ADDRESSES, `${tiny.prefix}.10/24`);
    assert.equal(rowOf(rows, { VM: "full-2" }).STATE, "Exhausted");
    assert.deepEqual(rowOf(rows, { VM: "orphan" }), {
      NAMESPACE: ns,
      VM: "orphan",
      INTERFACE: "ovs1",
      NETWORK: `${ns}/nopool`,
      POOL: "<none>",
      ADDRESSES: "<none>",
      MAC: "<none>",
      STATE: "NoPool",
    });
    assert.equal(rowOf(rows, { VM: "web", INTERFACE: "default" }).STATE, "PodNetwork");
    assert.deepEqual(
      table(await ok(["ips", "-n", ns, "web"])).map(r => r.INTERFACE),
      ["default", "ovs1"],
    );
    assert.equal(table(await ok(["ips", "-A"])).filter(r => r.NAMESPACE === ns).length, rows.length, "-A lists every namespace");
  });

  it("why, bound VM: the address, MAC and IPAllocation record; the masquerade NIC has none by design", async () => {
    const out = await ok(["why", "web", "-n", ns]);
    assert.match(out, new RegExp(`^VirtualMachine ${ns}/web$`, "m"));
    assert.match(out, new RegExp(`^interface ovs1: ${main.prefix}\\.2/24 \\(MAC 02:00:`, "m"));
    assert.match(out, new RegExp(`✓ address ${main.prefix}\\.2/24, MAC 02:00:[0-9a-f:]+, gateway ${main.prefix}\\.1`));
    assert.ok(out.includes(`✓ recorded by IPAllocation ${main.pool}.${main.prefix.replace(/\./g, "-")}-2`), out);
    assert.match(out, /^interface default: no IPPool address \(masquerade on the pod network\)$/m);
    assert.ok(!out.includes("✗"), `no problem expected:\n${out}`);
  });

  it("why, exhausted pool: names the pool, its size and the claim's reason", async () => {
    const out = await problems(["why", "full-2", "-n", ns]);
    assert.match(out, /^interface ovs1: no address: Exhausted$/m);
    assert.ok(out.includes(`✗ IPPool ${tiny.pool} is exhausted: all 1 addresses are allocated`), out);
    assert.ok(out.includes("✗ IPClaim full-2.ovs1 is not bound: Exhausted"), out);
  });

  it("why, no pool for the network, and a NAD without static IPAM", async () => {
    const orphan = await problems(["why", "orphan", "-n", ns]);
    assert.ok(orphan.includes(`✗ no IPPool serves network ${ns}/nopool: add it to an IPPool's spec.networks`), orphan);
    const legacy = await problems(["why", "legacy", "-n", ns]);
    assert.ok(legacy.includes(`✗ NetworkAttachmentDefinition ${ns}/legacy cannot apply the pool's address`), legacy);
    assert.ok(legacy.includes('set "ipam": {"type": "static"}'), legacy);
    assert.match(legacy, /^interface ovs1: [0-9.]+\/24 \(MAC [0-9a-f:]+\), but see the problems marked ✗$/m);
  });

  it("--kubeconfig instead of KUBECONFIG; a missing VM and bad usage exit 1 with a message; --help lists commands", async () => {
    const env = { ...process.env };
    delete env.KUBECONFIG;
    const flagged = await plugin(["why", "web", "-n", ns, "--kubeconfig", cluster().controlPlane.kubeconfig], env);
    assert.equal(flagged.code, 0, flagged.stderr);
    assert.match(flagged.stdout, /interface ovs1: /);
    const missing = await plugin(["why", "nope", "-n", ns]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), `error: VirtualMachine "nope" not found in namespace "${ns}"`);
    const usage = await plugin(["why"]);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /why takes one VM name/);
    const help = await plugin(["--help"]);
    assert.equal(help.code, 0);
    for (const cmd of ["pools", "ips", "why"]) assert.match(help.stdout, new RegExp(`kubectl vmnet ${cmd}`));
  });

  it("-o json and yaml; --context picks a context and an unknown one exits 1; kubectl-style usage errors; --help per verb", async function () {
    this.timeout(600_000); // a dozen plugin runs, each several seconds under tsx on a loaded machine
    const pools = JSON.parse(await ok(["pools", "-o", "json"])) as { items: Record<string, unknown>[] };
    assert.deepEqual(
      pools.items.find(p => p.name === main.pool),
      {
        name: main.pool,
        cidr: `${main.prefix}.0/24`,
        networks: `${ns}/vlan100`,
        capacity: 253,
        allocated: 1,
        available: 252,
        ready: "True",
        reclaim: "Delete",
      },
    );
    assert.match(await ok(["ips", "-n", ns, "web", "-o", "yaml"]), new RegExp(`addresses: ${main.prefix.replace(/\./g, "\\.")}\\.2/24`));
    const why = JSON.parse(await ok(["why", "web", "-n", ns, "-o", "json"])) as {
      found: boolean;
      interfaces: { interface: string; verdict: string }[];
    };
    assert.deepEqual(
      why.interfaces.map(i => [i.interface, i.verdict]),
      [
        ["default", "none"],
        ["ovs1", "bound"],
      ],
    );
    const kubeconfig = fs.readFileSync(cluster().controlPlane.kubeconfig, "utf8");
    const context = /current-context:\s*"?([^"\n]+)"?/.exec(kubeconfig)?.[1];
    assert.ok(context, "the test kubeconfig names its current context");
    await ok(["pools", "--context", context]);
    const unknown = await plugin(["pools", "--context", "nope"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: context "nope" is not in the kubeconfig/);
    const flag = await plugin(["pools", "--bogus"]);
    assert.deepEqual([flag.code, flag.stderr.trim()], [1, "error: Unknown option '--bogus' (see kubectl vmnet --help)"]);
    const format = await plugin(["pools", "-o", "xml"]);
    assert.deepEqual([format.code, format.stderr.trim()], [1, 'error: unknown output format "xml": use -o table|json|yaml']);
    for (const verb of ["pools", "ips", "why", "check"]) assert.match(await ok([verb, "--help"]), new RegExp(`^kubectl vmnet ${verb} `));
  });

  describe("check", () => {
    let audit: string;
    let pool: string;
    let prefix: string;

    before(async () => {
      audit = await freshNamespace("audit");
      pool = `audit-${audit}`;
      prefix = uniqueSubnet().prefix;
      await createNad(audit, "vlan100");
      await createPool(pool, { cidr: `${prefix}.0/24`, networks: [`${audit}/vlan100`] });
      await cluster().client.create(Kinds.VirtualMachine, vmManifest(audit, "db", [{ name: "ovs1", network: "vlan100" }]));
      await boundClaim(audit, "db.ovs1");
      await eventually("pool counted", async () => (await cluster().client.get<IPPool>(Kinds.IPPool, pool)).status?.allocated === 1);
    });

    after(async () => {
      await cluster().client.delete(Kinds.Namespace, audit);
    });

    it("is clean on a healthy namespace (exit 0), finds a leak planted through the API (exit 2, one line with what to do), --fix removes it", async function () {
      this.timeout(600_000);
      assert.match(await ok(["check", "-n", audit]), /^No problems found/);
      // With the operator down: its garbage sweep would otherwise free the planted record on its
      // own (and race the audit), which is its job but not what this test is about.
      await restartOperator("SIGTERM", async () => {
        const address = `${prefix}.200`;
        const name = allocationName(pool, address);
        await cluster().client.create(Kinds.IPAllocation, {
          apiVersion: "vmnet.io/v1alpha1",
          kind: "IPAllocation",
          metadata: { name },
          spec: { pool, address, claimRef: { namespace: audit, name: "gone.ovs1" } },
        });
        const out = await problems(["check", "-n", audit]);
        const leak = out.split("\n").find(l => l.startsWith("leak: "));
        assert.ok(leak, out);
        assert.ok(
          leak.includes(`${pool}/${address} recorded for missing (or not Bound) claim ${audit}/gone.ovs1`) && leak.includes("--fix"),
          leak,
        );
        const json = JSON.parse(await problems(["check", "-n", audit, "-o", "json"])) as { findings: { kind: string }[] };
        assert.ok(
          json.findings.some(f => f.kind === "leak"),
          JSON.stringify(json),
        );
        const fixed = await plugin(["check", "-n", audit, "--fix"]);
        assert.ok([0, 2].includes(fixed.code), fixed.stderr); // 2 while the pool's count catches up
        assert.match(
          fixed.stdout,
          new RegExp(`^fixed: deleted IPAllocation ${name.replace(/\./g, "\\.")}, whose claim no longer exists$`, "m"),
        );
        assert.equal(await cluster().client.getOrUndefined(Kinds.IPAllocation, name), undefined);
      });
      await eventually("clean again", async () => (await plugin(["check", "-n", audit])).code === 0);
    });

    it("finds a Bound claim that names no pool, planted through the API (exit 2, one unpooled line with what to do)", async function () {
      this.timeout(600_000);
      // With the operator down: it would re-bind the planted claim (NetworkNotReady: no pool).
      await restartOperator("SIGTERM", async () => {
        const name = "stray.ovs1";
        await cluster().client.create(Kinds.IPClaim, {
          apiVersion: "vmnet.io/v1alpha1",
          kind: "IPClaim",
          metadata: { name, namespace: audit },
          spec: { vm: "stray", interface: "ovs1", network: `${audit}/vlan100` },
        });
        const bound = { type: "Bound", status: "True", reason: "Allocated", message: "", lastTransitionTime: new Date().toISOString() };
        await cluster().client.mergePatch(
          Kinds.IPClaim,
          name,
          audit,
          { status: { addresses: [`${prefix}.201/24`], mac: "02:00:0a:00:00:c9", conditions: [bound] } },
          "status",
        );
        try {
          const out = await problems(["check", "-n", audit]);
          const lines = out.split("\n").filter(l => l.startsWith("unpooled: "));
          assert.equal(lines.length, 1, out);
          assert.ok(
            lines[0].includes(`${audit}/${name} is Bound showing ${prefix}.201/24 but names no pool, so no IPAllocation backs it`) &&
              lines[0].includes("delete the IPClaim and restart the VM"),
            out,
          );
        } finally {
          await cluster().client.delete(Kinds.IPClaim, name, audit);
        }
      });
      await eventually("clean again", async () => (await plugin(["check", "-n", audit])).code === 0);
    });

    it("compares launcher pods with the claims: an address or MAC planted in a pod's networks annotation or Multus's network-status is found (exit 2), one line each", async function () {
      this.timeout(600_000);
      const claim = await boundClaim(audit, "db.ovs1");
      const iface = launcherInterfaceName("ovs1");
      const podName = "virt-launcher-db-plant";
      // A launcher pod as virt-controller creates it: the webhook puts the claim's ips and mac on it.
      await launcherClient().create(Kinds.Pod, {
        metadata: {
          name: podName,
          namespace: audit,
          labels: { "kubevirt.io": "virt-launcher", "vm.kubevirt.io/name": "db" },
          annotations: { [NETWORKS]: JSON.stringify([{ name: "vlan100", namespace: audit, interface: iface }]) },
        },
        spec: { containers: [{ name: "compute", image: "virt-launcher:sim" }] },
      });
      const mutated = JSON.parse(
        (await cluster().client.get<KubeObject>(Kinds.Pod, podName, audit)).metadata?.annotations?.[NETWORKS] ?? "[]",
      ) as { ips?: string[]; mac?: string }[];
      assert.deepEqual([mutated[0].ips, mutated[0].mac], [claim.status?.addresses, claim.status?.mac]);
      assert.match(await ok(["check", "-n", audit]), /^No problems found \(.*, 1 launcher pods\)/);
      // Multus reporting another address and MAC than the claim's (as after a drift on the node):
      const status = [{ name: `${audit}/vlan100`, interface: iface, ips: [`${prefix}.77`], mac: "02:00:0a:00:00:77", dns: {} }];
      await cluster().client.mergePatch(Kinds.Pod, podName, audit, {
        metadata: { annotations: { [NETWORK_STATUS]: JSON.stringify(status) } },
      });
      const drift = await problems(["check", "-n", audit]);
      const lines = drift.split("\n").filter(l => l.startsWith("pod-"));
      assert.equal(lines.length, 2, drift);
      assert.ok(
        lines[0].startsWith(
          `pod-address: launcher pod ${audit}/${podName} of VM db carries ${prefix}.77 on network ${audit}/vlan100 interface ${iface} (Multus's ${NETWORK_STATUS}), which IPClaim ${audit}/db.ovs1 does not hold`,
        ) && lines[0].includes("restart the VM"),
        lines[0],
      );
      assert.ok(
        lines[1].startsWith(`pod-mac: launcher pod ${audit}/${podName} of VM db has MAC 02:00:0a:00:00:77`) &&
          lines[1].includes(`holds MAC ${claim.status?.mac}`),
        lines[1],
      );
      await cluster().client.mergePatch(Kinds.Pod, podName, audit, { metadata: { annotations: { [NETWORK_STATUS]: null } } });
      // An address in the networks annotation itself: the webhooks refuse that, so plant it while they are away.
      await duringWebhookOutage(async () => {
        const forged = [{ name: "vlan100", namespace: audit, interface: iface, ips: [`${prefix}.201/24`], mac: claim.status?.mac }];
        await cluster().client.mergePatch(Kinds.Pod, podName, audit, { metadata: { annotations: { [NETWORKS]: JSON.stringify(forged) } } });
      });
      const json = JSON.parse(await problems(["check", "-n", audit, "-o", "json"])) as {
        findings: { kind: string; message: string; advice: string }[];
      };
      const planted = json.findings.filter(f => f.kind.startsWith("pod-"));
      assert.deepEqual(
        planted.map(f => f.kind),
        ["pod-address"],
        JSON.stringify(json),
      );
      assert.ok(
        planted[0].message.includes(
          `carries ${prefix}.201/24 on network ${audit}/vlan100 interface ${iface} (its ${NETWORKS} annotation), which IPClaim ${audit}/db.ovs1 does not hold (it holds ${claim.status?.addresses?.join(", ")})`,
        ),
        planted[0].message,
      );
      await cluster().client.delete(Kinds.Pod, podName, audit);
      await eventually("clean once the pod is gone", async () => (await plugin(["check", "-n", audit])).code === 0);
    });

    it("runs from the bundled single file copied into a directory with no checkout", async function () {
      this.timeout(180_000);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubectl-vmnet-"));
      const file = await bundlePlugin(path.join(dir, "kubectl-vmnet"));
      const env = { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, KUBECONFIG: cluster().controlPlane.kubeconfig, HOME: dir };
      const run = (args: string[]): Promise<Run> =>
        new Promise(resolve =>
          execFile(file, args, { env, cwd: dir, timeout: 60_000 }, (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr }),
          ),
        );
      const started = Date.now();
      const help = await run(["--help"]);
      const helpMs = Date.now() - started;
      assert.equal(help.code, 0, help.stderr);
      const t0 = Date.now();
      const check = await run(["check", "-n", audit]);
      const checkMs = Date.now() - t0;
      assert.equal(check.code, 0, check.stderr + check.stdout);
      console.log(
        `      bundled plugin: ${(fs.statSync(file).size / 1024).toFixed(0)} KiB; --help ${helpMs} ms, check ${checkMs} ms (bare node: measure with \`time node -e ""\`)`,
      );
      fs.rmSync(dir, { recursive: true, force: true });
    });
  });
});
