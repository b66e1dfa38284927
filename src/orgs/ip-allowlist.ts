import ipaddr from 'ipaddr.js';

/**
 * CIDR allowlists. ipaddr.js handles IPv6, IPv4-mapped IPv6 (::ffff:10.0.0.1 matches 10.0.0.0/8)
 * and prefix parsing, which are easy to get subtly wrong by hand.
 */
export function parseCidrList(text: string): { ok: true; cidrs: string[] } | { ok: false; message: string } {
  const items = text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
  if (items.length > 100) return { ok: false, message: 'At most 100 entries are allowed.' };
  const out: string[] = [];
  for (const item of items) {
    try {
      const withPrefix = item.includes('/') ? item : `${item}/${ipaddr.parse(item).kind() === 'ipv4' ? 32 : 128}`;
      const [addr, bits] = ipaddr.parseCIDR(withPrefix);
      out.push(`${addr.toString()}/${bits}`);
    } catch {
      return { ok: false, message: `"${item.slice(0, 60)}" is not an IP address or CIDR range (examples: 203.0.113.0/24, 2001:db8::/32).` };
    }
  }
  return { ok: true, cidrs: [...new Set(out)] };
}

export function ipAllowed(ip: string | null, cidrs: readonly string[]): boolean {
  if (cidrs.length === 0) return true;
  if (!ip || !ipaddr.isValid(ip)) return false;
  let addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
  for (const c of cidrs) {
    const [range, bits] = ipaddr.parseCIDR(c);
    if (range.kind() === addr.kind() && addr.match(range, bits)) return true;
  }
  return false;
}
