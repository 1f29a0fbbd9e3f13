// The client's address behind reverse proxies. X-Forwarded-For is believed only when the peer is
// a trusted proxy, and then only as far as the chain is made of trusted proxies: the client is
// the right-most address not in `trusted_proxies` (anything left of it could be forged).
import { BlockList, isIP } from 'node:net';

/** `a.b.c.d` for IPv4 (also when written IPv4-mapped, as dual-stack sockets report it), canonical text for IPv6; undefined if not an address. */
export function normaliseAddress(text: string): string | undefined {
  let a = text.trim();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const kind = isIP(a);
  if (kind === 4) return a;
  if (kind !== 6) return undefined;
  // The URL parser writes IPv6 canonically (lower case, zeros compressed).
  const canonical = new URL(`http://[${a}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped) {
    const hi = parseInt(mapped[1]!, 16);
    const lo = parseInt(mapped[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return canonical;
}

/** Parses `addr` or `addr/prefix`; undefined when malformed. */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [addr, prefixText, ...rest] = text.split('/');
  if (rest.length || addr === undefined) return undefined;
  const address = normaliseAddress(addr);
  if (!address) return undefined;
  const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
  const max = family === 'ipv4' ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max, family };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return undefined;
  return { address, prefix: Number(prefixText), family };
}

export class ProxyTrust {
  private readonly list = new BlockList();

  /** `cidrs` must have passed parseCidr (the config schema checks them). */
  constructor(cidrs: readonly string[]) {
    for (const c of cidrs) {
      const p = parseCidr(c);
      if (!p) throw new Error(`not an IP address or CIDR range: ${c}`);
      this.list.addSubnet(p.address, p.prefix, p.family);
    }
  }

  trusts(address: string): boolean {
    return this.list.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client address for a connection from `peer` carrying `forwardedFor` (the raw header). A
   * malformed entry ends the walk: what is left of it cannot be trusted, so the last good hop wins.
   */
  clientAddress(peer: string, forwardedFor: string | undefined): string {
    const self = normaliseAddress(peer) ?? peer;
    if (forwardedFor === undefined || !this.trusts(self)) return self;
    const hops = forwardedFor.split(',');
    let client = self;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normaliseAddress(hops[i]!);
      if (!hop) break;
      client = hop;
      if (!this.trusts(hop)) break;
    }
    return client;
  }
}
