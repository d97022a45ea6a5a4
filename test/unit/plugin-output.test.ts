// The kubectl plugin's output, without a cluster: table, JSON and YAML of the same rows, the
// check's lines, and the answers that need no API server (help, usage errors, exit codes).
import assert from "node:assert/strict";
import yaml from "js-yaml";
import { main, EXIT } from "../../bin/kubectl-vmnet";
import { FORMATS, parseFormat, renderCheck, rowsToRecords, serialize, UnknownFormatError } from "../../capabilities/explain/output";
import { formatTable } from "../../capabilities/explain/table";

const HEADERS = ["NAME", "CIDR", "RECLAIM POLICY", "AVAILABLE"];
const ROWS: (string | number | undefined)[][] = [
  ["tenant-a-vlan100", "10.100.0.0/24", "Delete", 190],
  ["db", "fd00:100::/64", "", undefined],
];

const FINDING = {
  kind: "leak",
  message: "p4/10.1.0.9 recorded for missing (or not Bound) claim t/gone.ovs1",
  advice: "`kubectl vmnet check --fix` deletes it when the claim is gone",
};
const COUNTED = { claims: 3, allocations: 4, pools: 2, pods: 1 };

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: t => out.push(t), err: t => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("kubectl vmnet output", () => {
  it("table: upper-case headers, columns as wide as their widest cell, three spaces apart, <none> for empty cells, no trailing blanks", () => {
    assert.equal(
      formatTable(HEADERS, ROWS),
      [
        "NAME               CIDR            RECLAIM POLICY   AVAILABLE",
        "tenant-a-vlan100   10.100.0.0/24   Delete           190",
        "db                 fd00:100::/64   <none>           <none>",
      ].join("\n"),
    );
    assert.equal(formatTable(["A"], []), "A");
  });

  it("json and yaml: the same rows as objects keyed by camelCase headers, numbers kept, empty cells left out", () => {
    const records = rowsToRecords(HEADERS, ROWS);
    assert.deepEqual(records, [
      { name: "tenant-a-vlan100", cidr: "10.100.0.0/24", reclaimPolicy: "Delete", available: 190 },
      { name: "db", cidr: "fd00:100::/64" },
    ]);
    const json = serialize("json", { items: records });
    assert.equal(json, JSON.stringify({ items: records }, null, 2));
    const text = serialize("yaml", { items: records });
    assert.deepEqual(yaml.load(text), { items: records });
    assert.match(text, /^items:\n {2}- name: tenant-a-vlan100\n {4}cidr: 10\.100\.0\.0\/24\n/);
    assert.ok(!text.endsWith("\n"), "no trailing newline: the caller adds one");
  });

  it("-o accepts table, json and yaml (table by default) and names the choices otherwise", () => {
    assert.deepEqual(FORMATS, ["table", "json", "yaml"]);
    assert.equal(parseFormat(undefined), "table");
    for (const f of FORMATS) assert.equal(parseFormat(f), f);
    assert.throws(
      () => parseFormat("wide"),
      (e: unknown) => e instanceof UnknownFormatError && e.message === 'unknown output format "wide": use -o table|json|yaml',
    );
  });

  it("check, table: a line per repair and per finding with what to do, or one clean line with the counts", () => {
    assert.equal(
      renderCheck("table", { findings: [FINDING], fixed: ["p4.10-1-0-8"], counted: COUNTED }),
      `fixed: deleted IPAllocation p4.10-1-0-8, whose claim no longer exists\nleak: ${FINDING.message}; ${FINDING.advice}`,
    );
    assert.equal(
      renderCheck("table", { findings: [], fixed: [], counted: COUNTED }),
      "No problems found (3 claims, 4 IPAllocations, 2 pools, 1 launcher pods).",
    );
  });

  it("check, json and yaml: findings and fixes as data, the same in both", () => {
    const report = { findings: [FINDING], fixed: ["p4.10-1-0-8"], counted: COUNTED };
    const data = { findings: [FINDING], fixed: ["p4.10-1-0-8"] };
    assert.deepEqual(JSON.parse(renderCheck("json", report)), data);
    assert.deepEqual(yaml.load(renderCheck("yaml", report)), data);
    assert.deepEqual(JSON.parse(renderCheck("json", { findings: [], fixed: [], counted: COUNTED })), { findings: [], fixed: [] });
  });

  describe("answers without an API server", () => {
    it("--help, help VERB and VERB --help exit 0 on stdout; no verb prints the help on stderr and exits 1", async () => {
      const help = await run(["--help"]);
      assert.deepEqual([help.code, help.err], [EXIT.ok, ""]);
      for (const verb of ["pools", "ips", "why", "check"]) assert.match(help.out, new RegExp(`kubectl vmnet ${verb}`));
      assert.match(help.out, /Exit codes: 0 .* 1 .*\n2 ran and found problems/s);
      for (const argv of [
        ["check", "--help"],
        ["help", "check"],
      ]) {
        const r = await run(argv);
        assert.equal(r.code, EXIT.ok);
        assert.match(r.out, /^kubectl vmnet check \[-n NAMESPACE \| -A\] \[--fix\]/);
        assert.match(r.out, /launcher pod/);
      }
      const none = await run([]);
      assert.deepEqual([none.code, none.out], [EXIT.failed, ""]);
      assert.match(none.err, /^kubectl vmnet: /);
    });

    it("usage errors exit 1 with one line a person can act on", async () => {
      const cases: [string[], string][] = [
        [["pools", "-o", "xml"], 'error: unknown output format "xml": use -o table|json|yaml'],
        [["pools", "--bogus"], "error: Unknown option '--bogus' (see kubectl vmnet --help)"],
        [["frobnicate"], 'error: unknown command "frobnicate": use pools, ips, why or check (kubectl vmnet --help)'],
        [["pools", "--fix"], "error: --fix belongs to check"],
      ];
      for (const [argv, message] of cases) {
        const r = await run(argv);
        assert.deepEqual([r.code, r.err, r.out], [EXIT.failed, message, ""], argv.join(" "));
      }
    });
  });
});
