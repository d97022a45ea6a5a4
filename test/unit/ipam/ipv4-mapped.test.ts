// isIPv4Mapped: an IPv6 text that Go's net.ParseIP reads as an IPv4 address (To4() != nil), the
// reading KubeVirt's NTP server rule uses. Oracle: Go's net.ParseIP, which takes the mapped form
// ::ffff:a.b.c.d in any IPv6 spelling, and refuses a prefix length, a zone and any malformed text
// (it returns nil, never a panic).
import assert from "node:assert/strict";
import { isIPv4Mapped } from "../../../capabilities/ipam/address";

describe("isIPv4Mapped (Go's net.ParseIP(s).To4() != nil, for IPv6 text)", () => {
  it("the mapped form in its spellings", () => {
    for (const s of ["::ffff:10.0.0.1", "::ffff:a00:1", "0:0:0:0:0:ffff:10.0.0.1", "::FFFF:10.0.0.1"])
      assert.equal(isIPv4Mapped(s), true, s);
  });

  it("not a prefix length, a zone, another IPv6 address, an IPv4 address or malformed text", () => {
    for (const s of [
      "::ffff:10.0.0.1/128",
      "::ffff:10.0.0.1/96",
      "::ffff:10.0.0.1%eth0",
      "::1",
      "fd00::ffff:a00:1",
      "::10.0.0.1",
      "10.0.0.1",
      ":::",
      "::ffff:zz",
      "",
      "ffff",
    ])
      assert.equal(isIPv4Mapped(s), false, s);
    assert.equal(isIPv4Mapped(5 as unknown as string), false, "a number");
  });
});
