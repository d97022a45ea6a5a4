// The pure arithmetic of the restart-and-upgrade churn test (test/e2e/upgrade-churn.test.ts):
// which refusals are part of the design and which are lost requests, and how long the watcher's
// Lease had no leader. Unit-tested in test/unit/e2e/churn-figures.test.ts.

/** Why the API server refused a request, as the churn test counts it. */
export type RefusalKind =
  /** The launcher-pod webhook's designed refusal: the VM's claim is not Bound yet; KubeVirt retries. */
  | "not-bound-yet"
  /**
   * The validating webhook's view holds the VM's claim Bound while the mutating call (another
   * replica, or the same one a moment earlier) put no address on the pod: it could not see or
   * bind the claim within its budget. Refused, never admitted bare; KubeVirt retries.
   */
  | "mutation-missed"
  /** The API server could not reach (or got no answer from) a webhook: an outage of the operator. */
  | "webhook-unreachable"
  /** Anything else: a denial or an error nothing in the design explains. */
  | "other";

/** The kinds that are part of normal operation, not a sign of an outage. */
export const EXPECTED_REFUSALS: ReadonlySet<RefusalKind> = new Set(["not-bound-yet", "mutation-missed"]);

export function classifyRefusal(message: string): RefusalKind {
  if (/no bound address for network/.test(message)) return "not-bound-yet";
  if (/carries addresses other than its VM's IPClaims hold/.test(message)) return "mutation-missed";
  if (/failed calling webhook/.test(message)) return "webhook-unreachable";
  return "other";
}

/** One reading of the Lease (times in ms since the epoch; renew and acquire as the holder wrote them). */
export interface LeaseSample {
  at: number;
  holder: string;
  renewTime?: number;
  acquireTime?: number;
}

export interface LeaderGaps {
  /** Handovers from one holder to another (the first acquisition is not one). */
  handovers: number;
  /** Summed time between the old holder's last renewal (or its release) and the new holder's acquisition. */
  leaderlessMs: number;
  longestMs: number;
  /** Longest time between two renewals seen from one holder (a leader that stalls shows here). */
  longestRenewMs: number;
  /** Each handover: "old -> new after N ms". */
  detail: string[];
}

/**
 * The time without a leader from successive readings of the Lease. A leader leads until its last
 * renewal (a released Lease, holder empty, carries the release time as its renewTime), so each
 * gap is measured from there to the next holder's acquireTime. After a crash that is an upper
 * bound: the old holder may have lived up to one retry period past its last renewal.
 */
export function leaderGaps(samples: LeaseSample[]): LeaderGaps {
  const out: LeaderGaps = { handovers: 0, leaderlessMs: 0, longestMs: 0, longestRenewMs: 0, detail: [] };
  const seen: Seen = { holder: "", previous: "" };
  for (const s of samples) {
    if (s.holder && s.holder !== seen.holder) handOver(seen, s, out);
    if (!s.holder && seen.holder) {
      seen.previous = seen.holder; // released: its renewTime (below) is the release time
      seen.holder = "";
    }
    if (s.renewTime !== undefined) renewal(seen, s.holder, s.renewTime, out);
  }
  return out;
}

/** What leaderGaps remembers between readings. */
interface Seen {
  holder: string;
  /** The holder that released the Lease, while it has none. */
  previous: string;
  /** The last renewal (or release) seen: a leader led until then. */
  ledUntil?: number;
  lastRenew?: { holder: string; at: number };
}

function handOver(seen: Seen, s: LeaseSample, out: LeaderGaps): void {
  if (seen.holder || seen.ledUntil !== undefined) {
    const gap = Math.max(0, (s.acquireTime ?? s.renewTime ?? s.at) - (seen.ledUntil ?? s.at));
    out.handovers++;
    out.leaderlessMs += gap;
    out.longestMs = Math.max(out.longestMs, gap);
    out.detail.push(`${seen.holder || `${seen.previous || "nobody"} (released)`} -> ${s.holder} after ${gap} ms`);
  }
  seen.holder = s.holder;
  seen.lastRenew = undefined;
}

function renewal(seen: Seen, holder: string, at: number, out: LeaderGaps): void {
  const last = seen.lastRenew;
  if (holder && last?.holder === holder && at > last.at) out.longestRenewMs = Math.max(out.longestRenewMs, at - last.at);
  if (holder) seen.lastRenew = { holder, at };
  seen.ledUntil = at;
}
