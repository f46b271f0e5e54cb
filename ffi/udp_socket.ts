/**
 * Plain UDP sockets through libc: opening and binding one, socket options, and sending one
 * datagram with a given IP TTL. Shared by `UdpTransport` and `PortFan`.
 */

import { check, errno, libc, strerror } from "./libc.ts";
import { AF_INET, AF_INET6, SOCKADDR_IN6_BYTES, SockaddrCodec } from "./sockaddr.ts";
import { type Endpoint, formatEndpoint } from "../lib/transport/endpoint.ts";

const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const IPV6_UNICAST_HOPS = 16;
const IPPROTO_IP = 0;
const IP_TTL = 2;

/** Socket option numbers, for `getIntOption`. */
export const SocketOption = { SOL_SOCKET, SO_RCVBUF, SO_SNDBUF } as const;

/**
 * Opens a non-blocking UDP socket bound to `local` (port 0 picks a free port), dual stack when
 * `local` is IPv6, with kernel buffers of `bufferBytes` each way when given. Returns the fd and
 * the endpoint actually bound. Throws a one-line `Error` ("Cannot listen on HOST:PORT: reason").
 */
export function openUdpSocket(
  local: Endpoint,
  bufferBytes?: number,
): { fd: number; bound: Endpoint } {
  const c = libc();
  const fail = (code: number): never => {
    throw new Error(`Cannot listen on ${formatEndpoint(local)}: ${strerror(code)}`);
  };
  const v6 = local.family === 6;
  const fd = c.socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(errno());
  try {
    if (v6) setIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
    if (bufferBytes !== undefined) {
      if (!setIntOption(fd, SOL_SOCKET, SO_RCVBUFFORCE, bufferBytes)) {
        setIntOption(fd, SOL_SOCKET, SO_RCVBUF, bufferBytes);
      }
      if (!setIntOption(fd, SOL_SOCKET, SO_SNDBUFFORCE, bufferBytes)) {
        setIntOption(fd, SOL_SOCKET, SO_SNDBUF, bufferBytes);
      }
    }
    const codec = new SockaddrCodec(local.family);
    const sa = codec.encode(local);
    if (!sa) throw new Error(`Cannot listen on ${formatEndpoint(local)}: bad address`);
    if (c.bind(fd, sa, sa.length) < 0) fail(errno());
    const name = new Uint8Array(SOCKADDR_IN6_BYTES);
    const nameLen = new Uint8Array(4);
    new DataView(nameLen.buffer).setUint32(0, name.length, true);
    if (c.getsockname(fd, name, nameLen) < 0) fail(errno());
    const decoded = codec.decode(name, new DataView(name.buffer), 0);
    if (!decoded) throw new Error(`Cannot listen on ${formatEndpoint(local)}: bad local address`);
    // A v6 socket bound to a v4-mapped address still reports the family it was asked for.
    return { fd, bound: Object.freeze({ ...local, port: decoded.port }) };
  } catch (err) {
    c.close(fd);
    throw err;
  }
}

/**
 * Sets the IP TTL (IPv6 hop limit) of the datagrams `fd` sends to `to`; -1 restores the system
 * default. False when the kernel refused.
 */
export function setTtl(fd: number, socketFamily: 4 | 6, to: Endpoint, ttl: number): boolean {
  const [level, name] = socketFamily === 6 && to.family === 6
    ? [IPPROTO_IPV6, IPV6_UNICAST_HOPS]
    : [IPPROTO_IP, IP_TTL];
  return setIntOption(fd, level, name, ttl);
}

/** setsockopt with an int value; true on success. */
export function setIntOption(fd: number, level: number, name: number, value: number): boolean {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setInt32(0, value, true);
  return libc().setsockopt(fd, level, name, v, 4) === 0;
}

/** Reads an int socket option (for tests and diagnostics). */
export function getIntOption(fd: number, level: number, name: number): number {
  const v = new Uint8Array(4);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, 4, true);
  check("getsockopt", libc().getsockopt(fd, level, name, v, len));
  return new DataView(v.buffer).getInt32(0, true);
}
