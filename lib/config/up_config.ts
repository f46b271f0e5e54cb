/**
 * The configuration of `ipop up` and the parsers for each of its values. Every parser is total:
 * it returns a value or throws a one-line `ConfigError` naming the flag and the bad text.
 */
import { type Endpoint, parseEndpoint } from "../transport/endpoint.ts";
import type { LogFormat, LogLevel } from "../log.ts";
import { decodeKey, encodeKey } from "../identity/key_text.ts";
import { ConfigError } from "./config_error.ts";
import {
  formatSubnet,
  gatewayAddress,
  isAssignable,
  parseCanonicalIpv4,
  parseSubnet,
  type Subnet,
  subnetContains,
  subnetOf,
} from "../dhcp/subnet.ts";
import { numberToIpv4 } from "../vnet/ipv4.ts";

/** Default UDP port of the underlay listener. */
export const DEFAULT_LISTEN_PORT = 5800;
/** Default listen host: all IPv4 addresses. */
export const DEFAULT_LISTEN_HOST = "0.0.0.0";
/**
 * Default TUN MTU in bytes: a full-size packet routed through the overlay (44-byte overlay
 * header, 32 bytes of link framing and AEAD tag) still fits a 1500-byte path over IPv6 (40 + 8).
 */
export const DEFAULT_MTU_BYTES = 1376;
/** Smallest accepted TUN MTU in bytes (the IPv4 minimum reassembly size). */
export const MIN_MTU_BYTES = 576;
/** Largest accepted TUN MTU in bytes (jumbo frames). */
export const MAX_MTU_BYTES = 9000;
/** Shortest accepted `--address` prefix length. */
export const MIN_ADDRESS_PREFIX = 8;
/** Longest accepted `--address` prefix length (a /30 still has two host addresses). */
export const MAX_ADDRESS_PREFIX = 30;
/** Longest Linux interface name (IFNAMSIZ - 1). */
export const MAX_TUN_NAME_CHARS = 15;
/** Default `--network` name: the DHT namespace of the address leases. */
export const DEFAULT_NETWORK_NAME = "ipop";
/** Default `--subnet`: the addresses DHCP hands out. */
export const DEFAULT_SUBNET_TEXT = "100.64.0.0/16";
/** Default log level. */
export const DEFAULT_LOG_LEVEL: LogLevel = "info";

/** A statically configured peer. */
export interface PeerConfig {
  /** The peer's static X25519 public key, 32 bytes. */
  publicKey: Uint8Array;
  /** Where to send the first handshake. */
  endpoint: Endpoint;
}

/** An IPv4 interface address with its prefix length, e.g. 100.64.0.1/24. */
export interface InterfaceAddress {
  /** Dotted quad, canonical (no leading zeros). */
  ip: string;
  /** Prefix length, `MIN_ADDRESS_PREFIX`..`MAX_ADDRESS_PREFIX`. */
  prefix: number;
}

/** Everything `ipop up` needs, validated. */
export interface UpConfig {
  /** Directory holding the node key and the control socket. */
  stateDir: string;
  /** Local UDP endpoint of the underlay. */
  listen: Endpoint;
  /** The static TUN address; absent: the address comes from DHCP over the DHT. */
  address?: InterfaceAddress;
  /** Network name (`--network`): the namespace of the address leases in the DHT. */
  network: string;
  /** The virtual subnet; a static `address` is inside it with the same prefix. */
  subnet: Subnet;
  /** Static peers; keys are distinct. */
  peers: PeerConfig[];
  /** Overlay nodes to join through (none: found a new overlay). */
  bootstrap: Endpoint[];
  /** The 32-byte network pre-shared key (zeros when no secret file is given). */
  psk: Uint8Array;
  /** Requested TUN name; when absent the kernel picks one ("ipop%d"). */
  tunName?: string;
  /** TUN MTU in bytes. */
  mtu: number;
  /** Packets per second to one destination over several hops that ask for a shortcut (0: off). */
  shortcutPps: number;
  /** Where to serve Prometheus metrics and the dashboard (`--metrics`); absent: nowhere. */
  metrics?: Endpoint;
  /** How log lines look (`--log-format`). */
  logFormat: LogFormat;
  /** Log level of the console logger. */
  logLevel: LogLevel;
}

/** Parses `--listen`: `PORT` (on 0.0.0.0), `HOST:PORT` or `[V6]:PORT`. Port 0 means "any". */
export function parseListen(text: string): Endpoint {
  try {
    return parseEndpoint(text, DEFAULT_LISTEN_HOST);
  } catch (err) {
    throw new ConfigError(
      `Bad --listen "${text}": expected PORT, HOST:PORT or [V6]:PORT with an IP address`,
      { cause: err },
    );
  }
}

/** Parses `--peer PUBKEY@HOST:PORT`; the port must be 1..65535. */
export function parsePeer(text: string): PeerConfig {
  const at = text.indexOf("@");
  if (at < 0) throw new ConfigError(`Bad --peer "${text}": expected PUBKEY@HOST:PORT`);
  let publicKey: Uint8Array;
  try {
    publicKey = decodeKey(text.slice(0, at));
  } catch (err) {
    throw new ConfigError(
      `Bad --peer "${text}": the key must be 44 characters of base64 (32 bytes)`,
      { cause: err },
    );
  }
  let ep: Endpoint;
  try {
    ep = parseEndpoint(text.slice(at + 1));
    if (ep.port === 0) throw new RangeError("Port 0 is not a peer port");
  } catch (err) {
    throw new ConfigError(
      `Bad --peer "${text}": expected HOST:PORT or [V6]:PORT after "@", with an IP address and a port 1-65535`,
      { cause: err },
    );
  }
  return { publicKey, endpoint: ep };
}

/** Parses `--bootstrap udp://HOST:PORT` (or `udp://[V6]:PORT`). */
export function parseBootstrap(text: string): Endpoint {
  const m = /^udp:\/\/(.+)$/.exec(text.trim());
  try {
    if (!m) throw new Error("no udp:// prefix");
    const ep = parseEndpoint(m[1]!);
    if (ep.port === 0) throw new Error("port 0");
    return ep;
  } catch {
    throw new ConfigError(
      `Bad --bootstrap "${text}": expected udp://HOST:PORT or udp://[V6]:PORT with an IP address`,
    );
  }
}

/** Throws `ConfigError` when two peers share a key. */
export function checkDistinctPeers(peers: readonly PeerConfig[]): void {
  const seen = new Set<string>();
  for (const peer of peers) {
    const key = encodeKey(peer.publicKey);
    if (seen.has(key)) throw new ConfigError(`Peer ${key} is given more than once`);
    seen.add(key);
  }
}

/** Throws `ConfigError` when a configured peer has this node's own public key. */
export function checkPeersAgainstSelf(peers: readonly PeerConfig[], self: Uint8Array): void {
  const selfText = encodeKey(self);
  if (peers.some((p) => encodeKey(p.publicKey) === selfText)) {
    throw new ConfigError(`--peer ${selfText} is this node's own key`);
  }
}

/**
 * Parses `--address IP/PREFIX`: an IPv4 address in canonical dotted quad with a prefix of
 * `MIN_ADDRESS_PREFIX`..`MAX_ADDRESS_PREFIX` that is neither the network nor the broadcast address
 * of its prefix.
 */
export function parseAddress(text: string): InterfaceAddress {
  const { ip, prefix } = splitAddress(text, true);
  return checkHostOfPrefix(text, ip, prefix!);
}

/**
 * Works out the TUN address and the subnet from the `--address` and `--subnet` texts (either may
 * be absent):
 * - neither: no static address (DHCP), subnet `DEFAULT_SUBNET_TEXT`;
 * - `--subnet` only: no static address, that subnet;
 * - `--address IP/PREFIX` only: that address, in its own network (IP masked to PREFIX);
 * - `--address IP` (no prefix): the `--subnet` (or the default one) with its prefix, and the
 *   address must be assignable in it;
 * - both with a prefix: the prefixes must match and the address be assignable in the subnet.
 *
 * "Assignable" excludes the network and broadcast addresses and the first host (base+1,
 * reserved for a gateway). Throws a one-line `ConfigError` naming the flag otherwise.
 */
export function resolveAddressAndSubnet(
  addressText: string | undefined,
  subnetText: string | undefined,
): { address?: InterfaceAddress; subnet: Subnet } {
  if (addressText === undefined) {
    return { subnet: parseSubnet(subnetText ?? DEFAULT_SUBNET_TEXT) };
  }
  const { ip, prefix } = splitAddress(addressText, false);
  if (prefix !== undefined && subnetText === undefined) {
    const address = checkHostOfPrefix(addressText, ip, prefix);
    return { address, subnet: subnetOf(ip, prefix) };
  }
  const subnet = parseSubnet(subnetText ?? DEFAULT_SUBNET_TEXT);
  const bad = (why: string) => new ConfigError(`Bad --address "${addressText}": ${why}`);
  const within = subnetText === undefined ? "the default --subnet" : "--subnet";
  if (prefix !== undefined && prefix !== subnet.prefix) {
    throw bad(`its prefix /${prefix} differs from ${within} ${formatSubnet(subnet)}`);
  }
  if (!subnetContains(subnet, ip)) throw bad(`not inside ${within} ${formatSubnet(subnet)}`);
  if (!isAssignable(subnet, ip)) {
    const what = ip === subnet.base
      ? "the network address"
      : ip === gatewayAddress(subnet)
      ? "reserved for a gateway"
      : "the broadcast address";
    throw bad(`that is ${what} of ${within} ${formatSubnet(subnet)}`);
  }
  return { address: { ip: numberToIpv4(ip), prefix: subnet.prefix }, subnet };
}

/** `IP[/PREFIX]` text to a uint32 and a prefix within bounds; ConfigError naming --address. */
function splitAddress(text: string, requirePrefix: boolean): { ip: number; prefix?: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text.trim());
  const bad = (why: string) => new ConfigError(`Bad --address "${text}": ${why}`);
  if (!m || (requirePrefix && m[5] === undefined)) {
    throw bad(`expected IPv4 CIDR like 100.64.0.1/24${requirePrefix ? "" : " or an IPv4 address"}`);
  }
  const octets = m.slice(1, 5).map((s) => s!);
  if (octets.some((s) => s.length > 1 && s.startsWith("0"))) {
    throw bad("octets with leading zeros are ambiguous");
  }
  const ip = parseCanonicalIpv4(octets.join("."));
  if (ip === null) throw bad("each octet must be 0-255");
  if (m[5] === undefined) return { ip };
  const prefix = Number(m[5]);
  if (prefix < MIN_ADDRESS_PREFIX || prefix > MAX_ADDRESS_PREFIX) {
    throw bad(`prefix must be ${MIN_ADDRESS_PREFIX}-${MAX_ADDRESS_PREFIX}`);
  }
  return { ip, prefix };
}

/** Rejects the network and broadcast address of `prefix`; the canonical InterfaceAddress. */
function checkHostOfPrefix(text: string, ip: number, prefix: number): InterfaceAddress {
  const bad = (why: string) => new ConfigError(`Bad --address "${text}": ${why}`);
  const hostBits = 32 - prefix;
  const host = ip % 2 ** hostBits;
  if (host === 0) throw bad(`that is the network address of its /${prefix}`);
  if (host === 2 ** hostBits - 1) throw bad(`that is the broadcast address of its /${prefix}`);
  return { ip: numberToIpv4(ip), prefix };
}

/** Parses `--log-format`: `text` or `json`. */
export function parseLogFormat(text: string): LogFormat {
  if (text === "text" || text === "json") return text;
  throw new ConfigError(`Bad --log-format "${text}": expected text or json`);
}

/** Host of `--metrics PORT`: the loopback address (metrics are local unless asked otherwise). */
export const DEFAULT_METRICS_HOST = "127.0.0.1";

/** Parses `--metrics`: `PORT` (on 127.0.0.1), `HOST:PORT` or `[V6]:PORT`; the port 1..65535. */
export function parseMetricsListen(text: string): Endpoint {
  let ep: Endpoint;
  try {
    ep = parseEndpoint(text, DEFAULT_METRICS_HOST);
  } catch (err) {
    throw new ConfigError(
      `Bad --metrics "${text}": expected PORT, HOST:PORT or [V6]:PORT with an IP address`,
      { cause: err },
    );
  }
  if (ep.port < 1 || ep.port > 65535) {
    throw new ConfigError(`Bad --metrics "${text}": the port must be 1-65535`);
  }
  return ep;
}

/** Default `--shortcut-pps`: Brunet's threshold. */
export const DEFAULT_SHORTCUT_PPS = 2;
/** Largest accepted `--shortcut-pps`. */
export const MAX_SHORTCUT_PPS = 100_000;

/** Parses `--shortcut-pps`: a whole number 0..MAX_SHORTCUT_PPS (0 turns shortcuts off). */
export function parseShortcutPps(text: string): number {
  const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 0 && n <= MAX_SHORTCUT_PPS)) {
    throw new ConfigError(
      `Bad --shortcut-pps "${text}": expected a whole number of packets per second 0-${MAX_SHORTCUT_PPS}`,
    );
  }
  return n;
}

/** Parses `--mtu`: a decimal integer `MIN_MTU_BYTES`..`MAX_MTU_BYTES`. */
export function parseMtu(text: string): number {
  const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(n >= MIN_MTU_BYTES && n <= MAX_MTU_BYTES)) {
    throw new ConfigError(
      `Bad --mtu "${text}": expected a whole number of bytes ${MIN_MTU_BYTES}-${MAX_MTU_BYTES}`,
    );
  }
  return n;
}

/** Parses `--tun`: 1..15 characters of letters, digits, "_", "-", "." and "%" ("ipop%d"). */
export function parseTunName(text: string): string {
  if (
    !/^[A-Za-z0-9_.%-]+$/.test(text) || text.length > MAX_TUN_NAME_CHARS || text === "." ||
    text === ".."
  ) {
    throw new ConfigError(
      `Bad --tun "${text}": use 1-${MAX_TUN_NAME_CHARS} letters, digits, "_", "-", "." or "%d"`,
    );
  }
  return text;
}

/** Parses `--log-level`: error, warn, info or debug. */
export function parseLogLevel(text: string): LogLevel {
  if (text === "error" || text === "warn" || text === "info" || text === "debug") return text;
  throw new ConfigError(`Bad --log-level "${text}": expected error, warn, info or debug`);
}
