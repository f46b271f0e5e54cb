/**
 * IPv4 interface configuration by ioctl on an AF_INET datagram socket: address, netmask, MTU and
 * the UP flag. No `ip` command, no shelling out.
 *
 * `struct ifreq` (40 bytes on Linux x86_64/aarch64):
 *
 * ```
 *  0                   16                  18      20              24                  40
 * +-------------------+-------------------+-------+---------------+-------------------+
 * | ifr_name[16]      | union ifr_ifru (24 bytes)                                     |
 * | NUL-terminated    |                                                               |
 * +-------------------+-------------------+-------+---------------+-------------------+
 *   as sockaddr_in:   | sin_family u16 LE | port  | sin_addr (BE) | zero              |
 *                     |  = AF_INET (2)    | u16BE | 4 bytes       |                   |
 *   as ifr_flags:     | i16 LE            |
 *   as ifr_mtu:       | i32 LE                            |
 * ```
 */
import { check, libc, LibcError } from "./libc.ts";
import { configError, IFNAME_MAX_BYTES, TunError } from "./tun_errors.ts";

/** Size of `struct ifreq` in bytes. */
export const IFREQ_BYTES = 40;
/** Offset of the `ifr_ifru` union inside `struct ifreq`. */
export const IFREQ_UNION_OFFSET = 16;

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;

const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const SIOCSIFADDR = 0x8916;
const SIOCSIFNETMASK = 0x891c;
const SIOCSIFMTU = 0x8922;
const SIOCSIFTXQLEN = 0x8943;

/** `ifr_flags` bits. */
const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;

/** Smallest MTU the TUN driver accepts (IPv4's 68-byte minimum), in bytes. */
export const MIN_MTU_BYTES = 68;
/** Largest MTU the TUN driver accepts, in bytes. */
export const MAX_MTU_BYTES = 65535;

/** A zeroed `struct ifreq` carrying `name` in `ifr_name`. */
export function newIfreq(name: string): Uint8Array {
  const req = new Uint8Array(IFREQ_BYTES);
  const bytes = new TextEncoder().encode(name);
  if (bytes.length > IFNAME_MAX_BYTES) throw new TunError(`Interface name "${name}" is too long`);
  req.set(bytes);
  return req;
}

/** Reads `ifr_name` back out of a `struct ifreq` (the kernel fills it in for `%d` patterns). */
export function ifreqName(req: Uint8Array): string {
  const field = req.subarray(0, IFREQ_UNION_OFFSET);
  const end = field.indexOf(0);
  return new TextDecoder().decode(field.subarray(0, end < 0 ? field.length : end));
}

/**
 * Parses a dotted-quad IPv4 address strictly ("100.64.0.1"; no leading zeros, no shorthand).
 * Throws `TunError` for anything else.
 */
export function parseIpv4(ip: string): Uint8Array {
  const parts = ip.split(".");
  const out = new Uint8Array(4);
  if (parts.length !== 4) throw new TunError(`"${ip}" is not an IPv4 address`);
  parts.forEach((p, i) => {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) {
      throw new TunError(`"${ip}" is not an IPv4 address`);
    }
    out[i] = Number(p);
  });
  return out;
}

/** The netmask for a prefix length 1..32, as 4 bytes in network order. */
export function prefixToNetmask(prefix: number): Uint8Array {
  if (!Number.isInteger(prefix) || prefix < 1 || prefix > 32) {
    throw new TunError(`Prefix length ${prefix} is out of range 1..32`);
  }
  const mask = prefix === 32 ? 0xffffffff : (0xffffffff << (32 - prefix)) >>> 0;
  return new Uint8Array([mask >>> 24, (mask >>> 16) & 0xff, (mask >>> 8) & 0xff, mask & 0xff]);
}

/** Throws `TunError` unless `mtu` is an integer the TUN driver accepts. */
export function validateMtu(mtu: number): void {
  if (!Number.isInteger(mtu) || mtu < MIN_MTU_BYTES || mtu > MAX_MTU_BYTES) {
    throw new TunError(`MTU ${mtu} is out of range ${MIN_MTU_BYTES}..${MAX_MTU_BYTES}`);
  }
}

/**
 * Sets the IPv4 address and netmask of interface `name` (replacing its primary address).
 * Throws `TunError` (needs CAP_NET_ADMIN).
 */
export function setIpv4Address(name: string, ip: string, prefix: number): void {
  const addr = parseIpv4(ip);
  const mask = prefixToNetmask(prefix);
  withSocket((fd) => {
    ioctl(fd, SIOCSIFADDR, sockaddrReq(name, addr), name, "set the address");
    ioctl(fd, SIOCSIFNETMASK, sockaddrReq(name, mask), name, "set the netmask");
  });
}

/** Sets the MTU of interface `name`. Throws `TunError`. */
export function setMtu(name: string, mtu: number): void {
  validateMtu(mtu);
  const req = newIfreq(name);
  new DataView(req.buffer).setInt32(IFREQ_UNION_OFFSET, mtu, true);
  withSocket((fd) => ioctl(fd, SIOCSIFMTU, req, name, "set the MTU"));
}

/**
 * Sets the length of interface `name`'s transmit queue, in packets. For a TUN device that queue
 * holds packets the host sent until the agent reads them: too short, and TCP bursts overflow it
 * (the drops then look like congestion). Throws `TunError`.
 */
export function setTxQueueLength(name: string, packets: number): void {
  const req = newIfreq(name);
  new DataView(req.buffer).setInt32(IFREQ_UNION_OFFSET, packets, true);
  withSocket((fd) => ioctl(fd, SIOCSIFTXQLEN, req, name, "set the transmit queue length"));
}

/** Brings interface `name` up (IFF_UP | IFF_RUNNING), keeping its other flags. Throws `TunError`. */
export function setUp(name: string): void {
  const req = newIfreq(name);
  const view = new DataView(req.buffer);
  withSocket((fd) => {
    ioctl(fd, SIOCGIFFLAGS, req, name, "read the flags");
    const flags = view.getUint16(IFREQ_UNION_OFFSET, true);
    view.setUint16(IFREQ_UNION_OFFSET, flags | IFF_UP | IFF_RUNNING, true);
    ioctl(fd, SIOCSIFFLAGS, req, name, "set the flags");
  });
}

/** An ifreq for `name` whose union holds a sockaddr_in with `addr` (port 0). */
function sockaddrReq(name: string, addr: Uint8Array): Uint8Array {
  const req = newIfreq(name);
  new DataView(req.buffer).setUint16(IFREQ_UNION_OFFSET, AF_INET, true);
  // bytes 18..19: sin_port, left 0
  req.set(addr, IFREQ_UNION_OFFSET + 4);
  return req;
}

function withSocket(fn: (fd: number) => void): void {
  const c = libc();
  let fd: number;
  try {
    fd = check("socket", c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  } catch (err) {
    if (err instanceof LibcError) throw configError(err, "open a configuration socket");
    throw err;
  }
  try {
    fn(fd);
  } finally {
    c.close(fd);
  }
}

function ioctl(fd: number, request: number, req: Uint8Array, name: string, what: string): void {
  const c = libc();
  try {
    check("ioctl", c.ioctl(fd, BigInt(request), req));
  } catch (err) {
    if (err instanceof LibcError) throw configError(err, `${what} of "${name}"`);
    throw err;
  }
}
