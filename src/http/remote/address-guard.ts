/**
 * Which IP addresses a remote fetch may connect to: public unicast only. The ranges are ipaddr.js's, not our own
 * parsing; an IPv4 address inside IPv6 (mapped ::ffff:a.b.c.d, translated, NAT64, 6to4, Teredo, the old compatible
 * ::a.b.c.d) is refused whole rather than unwrapped, since nothing a public image host needs lives there.
 */
import ipaddr from 'ipaddr.js';

/** IPv6 global unicast is 2000::/3 (RFC 4291); everything else in IPv6 is local, special or unassigned. */
const globalUnicast = ipaddr.IPv6.parseCIDR('2000::/3');

/**
 * Why `address` may not be connected to (ipaddr.js's range name: loopback, private, linkLocal, uniqueLocal,
 * carrierGradeNat, multicast, unspecified, broadcast, reserved, ipv4Mapped, 6to4, teredo, ...), or undefined when it is
 * public unicast. Cloud metadata endpoints fall in these ranges: 169.254.169.254 is linkLocal, fd00:ec2::254
 * uniqueLocal, Alibaba's 100.100.100.200 carrierGradeNat. Anything that does not parse as an address is refused.
 */
export function refusedRange(address: string): string | undefined {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  // Strict parsing: only the canonical forms a resolver or a WHATWG URL produces (no 0177.0.0.1 or 2130706433 here:
  // the URL parser has already turned those into 127.0.0.1).
  if (!ipaddr.IPv4.isValidFourPartDecimal(bare) && !ipaddr.IPv6.isValid(bare)) return 'not an IP address';
  const parsed = ipaddr.parse(bare);
  const range = parsed.range();
  if (range !== 'unicast') return range;
  if (parsed.kind() === 'ipv6' && !(parsed as ipaddr.IPv6).match(globalUnicast)) return 'not global unicast';
  return undefined;
}
