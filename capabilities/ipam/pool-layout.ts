// From an IPPool spec to the set of addresses the pool may hand out. Pure and cheap (work is
// proportional to the number of ranges and exclusions, never to the number of addresses).
import { IPFamily, ParsedCIDR, ParsedIP, formatCIDR, formatIP, parseCIDR, parseIP } from "./address";
import { InvalidAddressError, InvalidPoolError } from "./errors";
import { RangeSet } from "./range-set";

export interface PoolSpecInput {
  cidr: string;
  ranges?: string[];
  exclude?: string[];
  gateway?: string;
}

/** Addresses of the ranges that are never handed out, and why (phrased to follow "it"). */
export interface Reservation {
  readonly first: bigint;
  readonly last: bigint;
  readonly reason: string;
  /** The spec field that reserves it: spec.gateway, spec.cidr (network/broadcast), spec.exclude[i]. */
  readonly field: string;
}

export interface PoolLayout {
  readonly family: IPFamily;
  readonly prefix: number;
  /** Canonical CIDR text. */
  readonly cidr: string;
  /** Network address and highest address of the CIDR. */
  readonly base: bigint;
  readonly last: bigint;
  /** spec.ranges (default: the whole CIDR), before reservations are taken out. */
  readonly ranges: RangeSet;
  /** What the allocator may hand out: ranges minus reservations. */
  readonly usable: RangeSet;
  readonly capacity: bigint;
  /** Canonical gateway text, when the spec names one. */
  readonly gateway?: string;
  /** Gateway first, then network/broadcast, then spec.exclude in order. */
  readonly reserved: readonly Reservation[];
}

const EXAMPLE_RANGE: Record<IPFamily, string> = { 4: "10.100.0.10-10.100.0.200", 6: "fd00:100::10-fd00:100::ff" };

function otherFamily(f: IPFamily): IPFamily {
  return f === 4 ? 6 : 4;
}

/** Collects every problem of a spec, so admission can report them all at once. */
class LayoutBuilder {
  readonly errors: InvalidPoolError[] = [];
  readonly reserved: Reservation[] = [];
  private readonly fmt: (v: bigint) => string;

  constructor(
    readonly net: ParsedCIDR,
    readonly cidr: string,
  ) {
    this.fmt = v => formatIP(net.family, v);
  }

  fail(field: string, value: string, reason: string, fix: string): undefined {
    this.errors.push(new InvalidPoolError(field, value, reason, fix));
    return undefined;
  }

  private familyMismatch(field: string, value: string, found: IPFamily): undefined {
    const f = this.net.family;
    return this.fail(
      field,
      value,
      `is IPv${found} but spec.cidr ${this.cidr} is IPv${f}`,
      `use IPv${f} addresses inside ${this.cidr}; IPv${otherFamily(f)} addresses belong in a separate IPv${otherFamily(f)} pool`,
    );
  }

  private notARange(field: string, value: string): undefined {
    return this.fail(
      field,
      value,
      "is not an address or a range of addresses",
      `write one address or two joined by '-', such as ${EXAMPLE_RANGE[this.net.family]}`,
    );
  }

  /** One spec.ranges item: "a" or "a-b", ascending, inside the CIDR. */
  range(field: string, text: string): [bigint, bigint] | undefined {
    const parts = typeof text === "string" ? text.split("-") : [];
    if (parts.length < 1 || parts.length > 2) return this.notARange(field, String(text));
    let ends: ParsedIP[];
    try {
      ends = parts.map(p => parseIP(p));
    } catch {
      return this.notARange(field, text);
    }
    const foreign = ends.find(e => e.family !== this.net.family);
    if (foreign) return this.familyMismatch(field, text, foreign.family);
    const [first, last = first] = ends;
    if (first.value > last.value) {
      return this.fail(field, text, `is reversed: ${parts[1]} comes before ${parts[0]}`, `write ${parts[1]}-${parts[0]}`);
    }
    if (first.value < this.net.base || last.value > this.net.last) {
      return this.fail(
        field,
        text,
        `reaches outside spec.cidr ${this.cidr}`,
        `keep it within ${this.fmt(this.net.base)}-${this.fmt(this.net.last)}`,
      );
    }
    return [first.value, last.value];
  }

  /** spec.ranges as a set; the whole CIDR when absent or empty. */
  ranges(items: string[] | undefined): RangeSet {
    if (!items || items.length === 0) return RangeSet.of(this.net.base, this.net.last);
    const parsed = items.map((text, i) => this.range(`spec.ranges[${i}]`, text));
    return RangeSet.fromRanges(parsed.filter((r): r is [bigint, bigint] => r !== undefined));
  }

  /** One spec.exclude item: an address or a CIDR. Parts outside the pool's CIDR are ignored. */
  exclude(field: string, text: string): void {
    let net: ParsedCIDR;
    try {
      net = typeof text === "string" && text.includes("/") ? parseCIDR(text) : toCIDR(parseIP(text));
    } catch (e) {
      const fixable = e instanceof InvalidAddressError && e.fix !== undefined;
      this.fail(
        field,
        String(text),
        fixable ? e.reason : "is neither an address nor a CIDR",
        fixable ? (e.fix as string) : "write an address (10.100.0.50) or a CIDR (10.100.0.64/28)",
      );
      return;
    }
    if (net.family !== this.net.family) {
      this.familyMismatch(field, text, net.family);
      return;
    }
    const first = net.base > this.net.base ? net.base : this.net.base;
    const last = net.last < this.net.last ? net.last : this.net.last;
    if (first <= last) this.reserved.push({ first, last, reason: `is excluded by ${field} (${text})`, field });
  }

  gateway(text: string): string | undefined {
    let ip: ParsedIP;
    try {
      ip = parseIP(text);
    } catch {
      return this.fail(
        "spec.gateway",
        String(text),
        "is not an IP address",
        `write one address inside ${this.cidr}, such as ${this.fmt(this.net.base + 1n)}`,
      );
    }
    if (ip.family !== this.net.family) return this.familyMismatch("spec.gateway", text, ip.family);
    if (ip.value < this.net.base || ip.value > this.net.last) {
      return this.fail(
        "spec.gateway",
        text,
        `is outside spec.cidr ${this.cidr}`,
        `pick an address inside ${this.cidr}, such as ${this.fmt(this.net.base + 1n)}`,
      );
    }
    this.reserved.push({ first: ip.value, last: ip.value, reason: "is the gateway of the pool", field: "spec.gateway" });
    return formatIP(ip.family, ip.value);
  }

  /** Network and (IPv4) broadcast addresses are not host addresses, except on point-to-point /31, /32, /127, /128 (RFC 3021). */
  networkAddresses(): void {
    const hostBits = (this.net.family === 4 ? 32 : 128) - this.net.prefix;
    if (hostBits <= 1) return;
    this.reserved.push({ first: this.net.base, last: this.net.base, reason: `is the network address of ${this.cidr}`, field: "spec.cidr" });
    if (this.net.family === 4)
      this.reserved.push({
        first: this.net.last,
        last: this.net.last,
        reason: `is the broadcast address of ${this.cidr}`,
        field: "spec.cidr",
      });
  }
}

function toCIDR(ip: ParsedIP): ParsedCIDR {
  return { family: ip.family, base: ip.value, prefix: ip.family === 4 ? 32 : 128, size: 1n, last: ip.value };
}

function build(spec: PoolSpecInput): { layout?: PoolLayout; errors: InvalidPoolError[] } {
  let net: ParsedCIDR;
  try {
    net = parseCIDR(spec?.cidr);
  } catch (e) {
    const reason = e instanceof InvalidAddressError ? e.reason : "is not a CIDR";
    const fix = (e instanceof InvalidAddressError && e.fix) || "write a CIDR such as 10.100.0.0/24 or fd00:100::/64";
    return { errors: [new InvalidPoolError("spec.cidr", String(spec?.cidr), reason, fix)] };
  }
  const cidr = formatCIDR(net.family, net.base, net.prefix);
  const b = new LayoutBuilder(net, cidr);
  const gateway = spec.gateway === undefined ? undefined : b.gateway(spec.gateway);
  b.networkAddresses();
  (spec.exclude ?? []).forEach((text, i) => b.exclude(`spec.exclude[${i}]`, text));
  const ranges = b.ranges(spec.ranges);
  if (b.errors.length > 0) return { errors: b.errors };
  const usable = b.reserved.reduce((set, r) => set.subtract(r.first, r.last), ranges);
  const layout: PoolLayout = {
    family: net.family,
    prefix: net.prefix,
    cidr,
    base: net.base,
    last: net.last,
    ranges,
    usable,
    capacity: usable.size,
    gateway,
    reserved: b.reserved,
  };
  return { layout, errors: [] };
}

/**
 * Computes the usable addresses of a pool. Default ranges: the whole CIDR. Always taken out:
 * gateway, spec.exclude, and the network and (IPv4) broadcast addresses except on /31, /32,
 * /127 and /128. The network/broadcast addresses are taken out of explicit ranges too: a VM
 * can never use them. Exclusions reaching outside the CIDR are clipped, not refused.
 * @throws InvalidPoolError for the first problem found (validatePoolSpec lists all of them)
 */
export function poolLayout(spec: PoolSpecInput): PoolLayout {
  const { layout, errors } = build(spec);
  if (!layout) throw errors[0];
  return layout;
}

/** Every problem of a pool spec (empty when poolLayout would succeed). */
export function validatePoolSpec(spec: PoolSpecInput): InvalidPoolError[] {
  return build(spec).errors;
}

export interface Unusable {
  code: "OutOfRange" | "Excluded";
  /** Phrased to follow "it": "is the gateway of the pool". */
  reason: string;
  /** The spec field that keeps it out (spec.cidr, spec.ranges, spec.gateway, spec.exclude[i]): what admission blames. */
  field: string;
}

/** Why an address cannot be handed out by the pool, or undefined when it is usable. */
export function whyUnusable(layout: PoolLayout, ip: ParsedIP): Unusable | undefined {
  const fmt = (v: bigint): string => formatIP(layout.family, v);
  const out = (field: string, reason: string): Unusable => ({ code: "OutOfRange", reason, field });
  if (ip.family !== layout.family) return out("spec.cidr", `is IPv${ip.family} but the pool is IPv${layout.family} (${layout.cidr})`);
  if (ip.value < layout.base || ip.value > layout.last) return out("spec.cidr", `is outside ${layout.cidr}`);
  if (!layout.ranges.contains(ip.value)) return out("spec.ranges", `is outside the pool's ranges (${layout.ranges.toString(fmt)})`);
  if (layout.usable.contains(ip.value)) return undefined;
  const r = layout.reserved.find(x => x.first <= ip.value && ip.value <= x.last);
  return { code: "Excluded", reason: r ? r.reason : "is reserved", field: r ? r.field : "spec" };
}
