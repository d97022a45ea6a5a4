// MAC addresses derived from the NIC's address, so a VM keeps its MAC wherever it runs and no
// MAC needs storing. Both prefixes have the locally-administered bit set and the multicast bit
// clear, and they differ (02 vs 0a), so an IPv4-derived and an IPv6-derived MAC never collide.
import { IPFamily, ParsedIP, parseIP } from "./address";
import { InvalidAddressError } from "./errors";

const LOW40 = (1n << 40n) - 1n;
const V4_PREFIX = 0x0200n << 32n; // 02:00:a.b.c.d
const V6_PREFIX = 0x0an << 40n; // 0a:low 40 bits

/**
 * What must be unique among a pool's addresses for their MACs to be unique: the whole address
 * for IPv4 (always unique), the low 40 bits for IPv6.
 */
export function macKey(family: IPFamily, value: bigint): bigint {
  return family === 4 ? value : value & LOW40;
}

function render(mac: bigint): string {
  const hex = mac.toString(16).padStart(12, "0");
  return hex.replace(/(..)(?!$)/g, "$1:");
}

/**
 * The MAC of a NIC with this address: IPv4 10.100.0.23 -> 02:00:0a:64:00:17; IPv6 -> 0a: and
 * the low 40 bits (fd00::17 -> 0a:00:00:00:00:17).
 * @throws InvalidAddressError when given unparsable text
 */
export function macFor(address: string | ParsedIP): string {
  const { family, value } = typeof address === "string" ? parseIP(address) : address;
  return render((family === 4 ? V4_PREFIX : V6_PREFIX) | macKey(family, value));
}

const MAC_TEXT = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** Six hex pairs separated by ':', unicast (multicast bit clear) and not all zero. */
export function isValidUnicastMac(s: string): boolean {
  if (typeof s !== "string" || !MAC_TEXT.test(s)) return false;
  const first = parseInt(s.slice(0, 2), 16);
  return (first & 1) === 0 && !/^[0:]+$/.test(s);
}

const MAC_LOOSE = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/;

/**
 * Lowercase, ':'-separated form (0A-64-00-00-00-17 -> 0a:64:00:00:00:17), for comparing MACs
 * that users wrote by hand. Checks the form only, not unicast.
 * @throws InvalidAddressError when the text is not six hex pairs separated by ':' or '-'
 */
export function normalizeMac(s: string): string {
  if (typeof s !== "string" || !MAC_LOOSE.test(s)) {
    throw new InvalidAddressError(
      String(s),
      "is not a MAC address",
      undefined,
      "write six hex pairs separated by ':', such as 02:00:0a:64:00:17",
    );
  }
  return s.toLowerCase().replace(/-/g, ":");
}
