/**
 * Subnet arithmetic for DHCP over the DHT: which IPv4 addresses of a network's subnet a node may
 * claim, where it tries first, and the DHT key of a lease.
 *
 * Layout of a subnet (a /29 shown; every prefix `MIN_SUBNET_PREFIX`..`MAX_SUBNET_PREFIX` alike):
 *
 * ```
 *  base+0   base+1    base+2 ... base+size-2   base+size-1
 * +--------+---------+----------------------+------------+
 * | network| gateway | assignable addresses | broadcast  |
 * +--------+---------+----------------------+------------+
 * ```
 *
 * The first host address (base+1) is never handed out: it is reserved for a future gateway, as
 * many DHCP setups keep `.1` for the router. A /30 therefore has exactly one assignable address.
 *
 * Lease keys are the UTF-8 bytes of `ip/<network>/<a.b.c.d>`, e.g. `ip/ipop/100.64.3.7`.
 *
 * All functions are pure; randomness only comes in through the `Rng` seam.
 *
 * @module
 */
import type { Rng } from "../clock/clock.ts";
import { ConfigError } from "../config/config_error.ts";
import { blake2sHash } from "../crypto/blake2s.ts";
import { numberToIpv4 } from "../vnet/ipv4.ts";

/** Shortest accepted subnet prefix length. */
export const MIN_SUBNET_PREFIX = 8;
/** Longest accepted subnet prefix length (a /30 still has one assignable address). */
export const MAX_SUBNET_PREFIX = 30;
/** Longest network name, in characters. */
export const MAX_NETWORK_NAME_CHARS = 32;
/** Longest possible lease key in bytes: "ip/" + name + "/" + "255.255.255.255". */
export const MAX_LEASE_KEY_BYTES = 3 + MAX_NETWORK_NAME_CHARS + 1 + 15;

/** An IPv4 subnet: its network address and prefix length. */
export interface Subnet {
  /** The network address as a uint32; its host bits (the low `32 - prefix`) are zero. */
  base: number;
  /** Prefix length, `MIN_SUBNET_PREFIX`..`MAX_SUBNET_PREFIX`. */
  prefix: number;
}

const NETWORK_NAME_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const DOTTED_QUAD_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const LEASE_KEY_RE = /^ip\/([a-z0-9][a-z0-9-]{0,31})\/(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;
const DHCP_DOMAIN = new TextEncoder().encode("ipop dhcp");
const LEASE_DECODER = new TextDecoder("utf-8", { fatal: true });

/** The netmask of a prefix length 0..32 as a uint32 (e.g. 24 gives 0xffffff00). */
export function subnetMask(prefix: number): number {
  return prefix <= 0 ? 0 : (0xffffffff << (32 - Math.min(prefix, 32))) >>> 0;
}

/** The subnet of prefix `prefix` holding `ip` (the host bits of `ip` cleared). */
export function subnetOf(ip: number, prefix: number): Subnet {
  return { base: (ip & subnetMask(prefix)) >>> 0, prefix };
}

/**
 * Canonical dotted-quad text to a uint32, or null: four decimal octets 0..255 without leading
 * zeros ("100.064.0.1" is ambiguous and rejected).
 */
export function parseCanonicalIpv4(text: string): number | null {
  const m = DOTTED_QUAD_RE.exec(text);
  if (!m) return null;
  let n = 0;
  for (const part of m.slice(1, 5)) {
    const s = part!;
    if (s.length > 1 && s.startsWith("0")) return null;
    const octet = Number(s);
    if (octet > 255) return null;
    n = n * 256 + octet;
  }
  return n;
}

/**
 * Parses `--subnet A.B.C.D/P`: a canonical IPv4 network address with P in
 * `MIN_SUBNET_PREFIX`..`MAX_SUBNET_PREFIX` and all host bits zero. Throws a one-line
 * `ConfigError` naming `--subnet` otherwise (for set host bits, naming the network address).
 */
export function parseSubnet(text: string): Subnet {
  const bad = (why: string) => new ConfigError(`Bad --subnet "${text}": ${why}`);
  const slash = text.indexOf("/");
  const ip = slash < 0 ? null : parseCanonicalIpv4(text.slice(0, slash));
  const prefixText = slash < 0 ? "" : text.slice(slash + 1);
  if (ip === null || !/^\d{1,2}$/.test(prefixText)) {
    throw bad("expected an IPv4 network like 100.64.0.0/16");
  }
  const prefix = Number(prefixText);
  if (prefix < MIN_SUBNET_PREFIX || prefix > MAX_SUBNET_PREFIX) {
    throw bad(`prefix must be ${MIN_SUBNET_PREFIX}-${MAX_SUBNET_PREFIX}`);
  }
  const subnet = subnetOf(ip, prefix);
  if (subnet.base !== ip) {
    throw bad(`host bits are set; the network is ${formatSubnet(subnet)}`);
  }
  return subnet;
}

/** The subnet as CIDR text, e.g. "100.64.0.0/16". */
export function formatSubnet(s: Subnet): string {
  return `${numberToIpv4(s.base)}/${s.prefix}`;
}

/** Number of addresses in the subnet, network and broadcast included (2^(32 - prefix)). */
export function subnetSize(s: Subnet): number {
  return 2 ** (32 - s.prefix);
}

/**
 * Number of host addresses: all but the network and broadcast addresses (2^(32 - prefix) - 2).
 * The gateway address counts as a host; see `assignableCount` for what DHCP hands out.
 */
export function hostCount(s: Subnet): number {
  return subnetSize(s) - 2;
}

/** Number of addresses DHCP may hand out: the hosts minus the reserved gateway (base+1). */
export function assignableCount(s: Subnet): number {
  return subnetSize(s) - 3;
}

/** The broadcast address (all host bits one) as a uint32. */
export function broadcastAddress(s: Subnet): number {
  return s.base + subnetSize(s) - 1;
}

/** The first host address (base+1), reserved for a future gateway and never assigned. */
export function gatewayAddress(s: Subnet): number {
  return s.base + 1;
}

/** True when `ip` (a uint32; anything else is never inside) lies in the subnet. */
export function subnetContains(s: Subnet, ip: number): boolean {
  if (!Number.isInteger(ip) || ip < 0 || ip > 0xffffffff) return false;
  return ((ip & subnetMask(s.prefix)) >>> 0) === s.base;
}

/**
 * True when DHCP may hand out `ip`: inside the subnet and neither the network address, the
 * broadcast address nor the first host address (base+1, reserved for a future gateway).
 */
export function isAssignable(s: Subnet, ip: number): boolean {
  return subnetContains(s, ip) && ip > gatewayAddress(s) && ip < broadcastAddress(s);
}

/**
 * The address a node tries first: deterministic in its key and the network name, always
 * assignable, and spread evenly over the assignable addresses.
 *
 * h = BLAKE2s-256(utf8("ipop dhcp") || utf8(network) || 0x00 || publicKey); the first 6 bytes of
 * h, big-endian, modulo `assignableCount(s)` index the assignable addresses from base+2. (The
 * zero byte, which no network name contains, keeps name and key apart for keys of any length.)
 * The modulo bias is below 2^-24 for every accepted prefix.
 */
export function firstChoice(s: Subnet, publicKey: Uint8Array, network: string): number {
  const h = blake2sHash(
    DHCP_DOMAIN,
    new TextEncoder().encode(network),
    Uint8Array.of(0),
    publicKey,
  );
  const n = ((h[0]! << 8) | h[1]!) * 2 ** 32 +
    (((h[2]! << 24) | (h[3]! << 16) | (h[4]! << 8) | h[5]!) >>> 0);
  return s.base + 2 + (n % assignableCount(s));
}

/**
 * A uniformly random assignable address, drawn from `rng.uint32()` by rejection sampling: draws
 * at or above the largest multiple of `assignableCount(s)` below 2^32 are redrawn (for a /8 that
 * is under 0.4% of draws, for smaller subnets far less).
 */
export function randomChoice(s: Subnet, rng: Rng): number {
  const count = assignableCount(s);
  const limit = Math.floor(2 ** 32 / count) * count;
  let r = rng.uint32();
  while (r >= limit) r = rng.uint32();
  return s.base + 2 + (r % count);
}

/**
 * Parses `--network NAME`: 1..32 characters of a-z, 0-9 and "-", not starting with "-". Throws
 * a one-line `ConfigError` naming `--network` otherwise.
 */
export function parseNetworkName(text: string): string {
  if (!NETWORK_NAME_RE.test(text)) {
    throw new ConfigError(
      `Bad --network "${text}": use 1-${MAX_NETWORK_NAME_CHARS} characters of a-z, 0-9 and "-", not starting with "-"`,
    );
  }
  return text;
}

/**
 * The DHT key of the lease on `ip` in `network`: UTF-8 of `ip/<network>/<a.b.c.d>`. Throws
 * `RangeError` when `network` is not a valid network name or `ip` not a uint32 (caller bugs).
 */
export function leaseKey(network: string, ip: number): Uint8Array {
  if (!NETWORK_NAME_RE.test(network)) throw new RangeError(`Not a network name: ${network}`);
  if (!Number.isInteger(ip) || ip < 0 || ip > 0xffffffff) {
    throw new RangeError(`Not an IPv4 address: ${ip}`);
  }
  return new TextEncoder().encode(`ip/${network}/${numberToIpv4(ip)}`);
}

/**
 * The network and address of a lease key, or null for any bytes `leaseKey` would not produce
 * (bounded: keys longer than `MAX_LEASE_KEY_BYTES` are rejected before decoding).
 */
export function parseLeaseKey(key: Uint8Array): { network: string; ip: number } | null {
  if (key.length > MAX_LEASE_KEY_BYTES) return null;
  let text: string;
  try {
    text = LEASE_DECODER.decode(key);
  } catch {
    return null;
  }
  const m = LEASE_KEY_RE.exec(text);
  if (!m) return null;
  const ip = parseCanonicalIpv4(m[2]!);
  return ip === null ? null : { network: m[1]!, ip };
}
