import ipaddr from 'ipaddr.js';
import { LRUCache } from 'lru-cache';

/** IPv6 addresses recently seen, with their network: parsing one costs about 3.5 µs (bench/request-hooks.ts). */
const networks = new LRUCache<string, string>({ max: 10_000 });

/**
 * The network a client address stands for in per-client budgets: an IPv4 address itself, an IPv6 address's
 * /64 (a subscriber's network: its hosts pick any of 2^64 addresses at will, so counting each address apart
 * would give one client as many budgets as it likes). An IPv4-mapped IPv6 address is its IPv4 address.
 */
export function clientNetwork(ip: string): string {
  // Dotted IPv4 as Node gives it: nothing to parse.
  if (!ip.includes(':')) return ip;
  let network = networks.get(ip);
  if (network === undefined) {
    network = ipv6Network(ip);
    networks.set(ip, network);
  }
  return network;
}

function ipv6Network(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') return address.toString();
  const prefix = (address as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
  return `${prefix.join(':')}::/64`;
}
