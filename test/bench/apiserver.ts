// What the API server did in a window of the scale run, read from the API server itself (its
// /metrics and, with --profiling, its Go CPU profile) with the admin client certificate: every
// request by verb and resource (reads and watches included, not only the writes the operator
// counts), and the watch events it encoded and sent. Binding and replaying the same writes are
// compared this way: what the operator's run costs the API server beyond the writes.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import path from "node:path";

/** Counts by key ("POST ipclaims", "PATCH ipclaims/status", "watch events IPClaim", ...). */
export type Counts = Record<string, number>;

/** One GET of the API server with the admin client certificate of the control plane in `dir`. */
function adminGet(server: string, dir: string, urlPath: string, timeoutMs = 120_000): Promise<Buffer> {
  const read = (f: string): Buffer => fs.readFileSync(path.join(dir, f));
  return new Promise((resolve, reject) => {
    const req = https.get(
      new URL(urlPath, server),
      { ca: read("ca.crt"), cert: read("admin.crt"), key: read("admin.key"), timeout: timeoutMs },
      res => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`GET ${urlPath}: ${res.statusCode}`)),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
  });
}

const LABELS = /([a-z_]+)="([^"]*)"/g;

function labelsOf(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(LABELS)].map(m => [m[1], m[2]]));
}

/**
 * The counters of one /metrics text this bench compares: requests by verb and resource
 * (subresource after a slash; WATCH is counted when a watch ends), watch events sent by kind,
 * and their bytes.
 */
export function parseCounts(text: string): Counts {
  const out: Counts = {};
  const add = (key: string, v: number): void => void (out[key] = (out[key] ?? 0) + v);
  for (const line of text.split("\n")) {
    const m =
      /^(apiserver_request_total|apiserver_watch_events_total|apiserver_watch_events_sizes_sum|apiserver_admission_webhook_admission_duration_seconds_count)\{([^}]*)\} ([0-9.e+-]+)$/.exec(
        line,
      );
    if (!m) continue;
    const l = labelsOf(m[2]);
    const value = Number(m[3]);
    if (m[1] === "apiserver_request_total") {
      const resource = l.subresource ? `${l.resource}/${l.subresource}` : l.resource || l.scope;
      add(`${l.verb} ${resource}`, value);
    } else if (m[1] === "apiserver_admission_webhook_admission_duration_seconds_count") {
      add(`webhook ${l.name} ${l.operation}`, value);
    } else if (m[1] === "apiserver_watch_events_total") add(`watch events ${l.resource ?? l.kind}`, value);
    else add(`watch bytes ${l.resource ?? l.kind}`, value);
  }
  return out;
}

/** The API server's counters now. */
export async function apiCounts(server: string, dir: string): Promise<Counts> {
  return parseCounts((await adminGet(server, dir, "/metrics")).toString("utf8"));
}

/** after - before, keys that changed only. */
export function countsDelta(before: Counts, after: Counts): Counts {
  return Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)] as [string, number])
      .filter(([, v]) => v !== 0),
  );
}

/** "4.01 requests per VM: POST ipclaims 1.00, ...; watch events per VM: ipclaims 2.00 (0.9 KB), ...; webhook calls per VM: ...". */
export function perVmLine(delta: Counts, vms: number): string {
  // Below 0.005 per VM prints as 0.00: start-up traffic (webhook registration, leases), not per-VM work.
  const entries = Object.entries(delta)
    .filter(([k, v]) => k.startsWith("watch bytes ") || v / vms >= 0.005)
    .sort((a, b) => b[1] - a[1]);
  const requests = entries.filter(([k]) => !k.startsWith("watch ") && !k.startsWith("webhook "));
  const webhooks = entries.filter(([k]) => k.startsWith("webhook "));
  const events = entries.filter(([k]) => k.startsWith("watch events "));
  const total = requests.reduce((a, [, v]) => a + v, 0);
  const fmt = (v: number): string => (v / vms).toFixed(2);
  const eventText = events.map(([k, v]) => {
    const kind = k.slice("watch events ".length);
    return `${kind} ${fmt(v)} (${((delta[`watch bytes ${kind}`] ?? 0) / vms / 1024).toFixed(1)} KB)`;
  });
  return `${fmt(total)} requests per VM: ${requests.map(([k, v]) => `${k} ${fmt(v)}`).join(", ")}; watch events per VM: ${eventText.join(", ") || "none"}; webhook calls per VM: ${webhooks.map(([k, v]) => `${k.slice(8)} ${fmt(v)}`).join(", ") || "none"}`;
}

/** One `seconds` CPU profile of kube-apiserver (needs --profiling=true), written to `file`. */
function apiServerProfile(server: string, dir: string, seconds: number, file: string): Promise<string> {
  return adminGet(server, dir, `/debug/pprof/profile?seconds=${seconds}`, (seconds + 60) * 1000).then(buf => {
    fs.writeFileSync(file, buf);
    return file;
  });
}

/**
 * Profiles kube-apiserver over a window of unknown length: back-to-back profiles of `chunkSeconds`
 * (Go serves one at a time) until stop(), which waits for the one running and returns every file
 * (`go tool pprof` merges several). The last chunk may run up to `chunkSeconds` past the window.
 */
export function profileWindow(server: string, dir: string, chunkSeconds: number, filePrefix: string): { stop(): Promise<string[]> } {
  const files: string[] = [];
  let stopped = false;
  const loop = (async (): Promise<void> => {
    for (let i = 0; !stopped; i++) files.push(await apiServerProfile(server, dir, chunkSeconds, `${filePrefix}-${i}.pprof`));
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return files;
    },
  };
}

/** `go tool pprof -top` of profiles (merged), the first `lines` lines. */
export function pprofTop(files: string[], lines = 40, cum = false): string {
  const go = ["/usr/local/go/bin/go", "go"].find(g => g === "go" || fs.existsSync(g)) as string;
  try {
    const out = execFileSync(go, ["tool", "pprof", "-top", ...(cum ? ["-cum"] : []), `-nodecount=${lines}`, ...files], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return out.trim();
  } catch (e) {
    return `pprof failed: ${(e as Error).message.split("\n")[0]}`;
  }
}
