/**
 * The real `Transport`: a non-blocking UDP socket driven by the `IoLoop`, receiving with
 * `recvmmsg` and sending with `sendmmsg` through preallocated batches (no Promise, no string and
 * no buffer allocated per datagram for known senders).
 */

import type { IoLoop } from "./io_loop.ts";
import { check, Errno, errno, libc, strerror } from "./libc.ts";
import { MmsgBatch, MMSGHDR_BYTES, MSG_DONTWAIT, MSG_TRUNC } from "./mmsg.ts";
import { AF_INET, AF_INET6, SOCKADDR_IN6_BYTES, SockaddrCodec } from "./sockaddr.ts";
import { type Endpoint, formatEndpoint } from "../lib/transport/endpoint.ts";
import {
  type DatagramHandler,
  newTransportStats,
  type Transport,
  type TransportStats,
} from "../lib/transport/transport.ts";

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

/** Default kernel socket buffer size, each direction. */
export const DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** Default number of datagrams per `recvmmsg`/`sendmmsg`. */
export const DEFAULT_BATCH_SIZE = 64;
/** Default bytes per datagram slot: larger datagrams are dropped (our MTU is far below). */
export const DEFAULT_SLOT_BYTES = 2048;
/** The most `recvmmsg` rounds one readable event drains before returning to the loop. */
const MAX_RECEIVE_ROUNDS = 16;

/** Options of `UdpTransport.bind`. */
export interface UdpTransportOptions {
  /** SO_RCVBUF and SO_SNDBUF in bytes (default 4 MiB). */
  socketBufferBytes?: number;
  /** Datagrams per batched syscall (default 64). */
  batchSize?: number;
  /** Largest datagram sent or received, in bytes (default 2048). */
  slotBytes?: number;
}

/** `TransportStats` plus the UDP transport's own counters. */
export interface UdpTransportStats extends TransportStats {
  /** Received datagrams dropped because they were larger than a slot. */
  receiveDrops: number;
}

/**
 * A UDP socket as a `Transport`, following the `Transport` contract.
 *
 * Receiving: the fd is watched by the `IoLoop`; each readable event drains up to
 * `MAX_RECEIVE_ROUNDS` `recvmmsg` batches and calls the handler per datagram with a view into
 * the receive slot (valid during the call only) and an interned, frozen sender `Endpoint`.
 * A handler exception is rethrown (to the loop's `onError`) after the batch has been delivered.
 *
 * Sending: `send` copies into the next `sendmmsg` slot; a full batch is flushed at once, and a
 * batch is also flushed from a microtask queued by its first datagram and after every loop
 * burst. Family-6 sockets are dual stack: IPv4 peers are family-4 endpoints both ways.
 */
export class UdpTransport implements Transport {
  readonly localEndpoint: Endpoint;
  readonly stats: UdpTransportStats = { ...newTransportStats(), receiveDrops: 0 };
  readonly #c = libc();
  readonly #fd: number;
  readonly #loop: IoLoop;
  readonly #codec: SockaddrCodec;
  readonly #rx: MmsgBatch;
  readonly #tx: MmsgBatch;
  readonly #txLengths: Uint32Array;
  #txCount = 0;
  #flushQueued = false;
  #closed = false;
  #handler: DatagramHandler = () => {};
  readonly #flushFromMicrotask = () => {
    this.#flushQueued = false;
    this.flush();
  };

  private constructor(loop: IoLoop, fd: number, local: Endpoint, opts: UdpTransportOptions) {
    this.#loop = loop;
    this.#fd = fd;
    this.localEndpoint = local;
    const batch = Math.max(1, opts.batchSize ?? DEFAULT_BATCH_SIZE);
    const slot = Math.max(64, opts.slotBytes ?? DEFAULT_SLOT_BYTES);
    this.#codec = new SockaddrCodec(local.family);
    this.#rx = new MmsgBatch(batch, slot);
    this.#tx = new MmsgBatch(batch, slot);
    this.#txLengths = new Uint32Array(batch);
    loop.add(fd, () => this.#onReadable());
    loop.afterBurst(() => this.flush());
    loop.wake(); // IoLoop.add does not interrupt a poll already waiting without this fd
  }

  /**
   * Opens a UDP socket bound to `local` (port 0 picks a free port; see `localEndpoint`) and
   * registers it with `loop`. Throws a one-line `Error` ("Cannot listen on HOST:PORT: reason")
   * when the socket cannot be created or bound.
   */
  static bind(loop: IoLoop, local: Endpoint, opts: UdpTransportOptions = {}): UdpTransport {
    const c = libc();
    const fail = (code: number): never => {
      throw new Error(`Cannot listen on ${formatEndpoint(local)}: ${strerror(code)}`);
    };
    const v6 = local.family === 6;
    const fd = c.socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail(errno());
    try {
      if (v6) setIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
      const bufBytes = opts.socketBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES;
      if (!setIntOption(fd, SOL_SOCKET, SO_RCVBUFFORCE, bufBytes)) {
        setIntOption(fd, SOL_SOCKET, SO_RCVBUF, bufBytes);
      }
      if (!setIntOption(fd, SOL_SOCKET, SO_SNDBUFFORCE, bufBytes)) {
        setIntOption(fd, SOL_SOCKET, SO_SNDBUF, bufBytes);
      }
      const codec = new SockaddrCodec(local.family);
      const sa = codec.encode(local);
      if (!sa) throw new Error(`Cannot listen on ${formatEndpoint(local)}: bad address`);
      if (c.bind(fd, sa, sa.length) < 0) fail(errno());
      const name = new Uint8Array(SOCKADDR_IN6_BYTES);
      const nameLen = new Uint8Array(4);
      new DataView(nameLen.buffer).setUint32(0, name.length, true);
      if (c.getsockname(fd, name, nameLen) < 0) fail(errno());
      const bound = codec.decode(name, new DataView(name.buffer), 0);
      if (!bound) throw new Error(`Cannot listen on ${formatEndpoint(local)}: bad local address`);
      // A v6 socket bound to a v4-mapped address still reports the family it was asked for.
      const actual: Endpoint = Object.freeze({ ...local, port: bound.port });
      return new UdpTransport(loop, fd, actual, opts);
    } catch (err) {
      c.close(fd);
      throw err;
    }
  }

  /**
   * Sends `data` to `to` right away with IP TTL (IPv6 hop limit) `ttl`, then restores the
   * default. Whatever is queued goes first, so the order of sends is kept.
   */
  sendPrimer(to: Endpoint, data: Uint8Array, ttl: number): void {
    if (this.#closed) return;
    this.flush();
    const [level, name] = this.localEndpoint.family === 6 && to.family === 6
      ? [IPPROTO_IPV6, IPV6_UNICAST_HOPS]
      : [IPPROTO_IP, IP_TTL];
    if (!setIntOption(this.#fd, level, name, ttl)) return void this.stats.sendDrops++;
    try {
      this.send(to, data);
      this.flush();
    } finally {
      setIntOption(this.#fd, level, name, -1); // -1: back to the system default
    }
  }

  /** The socket's file descriptor (for diagnostics). */
  get fd(): number {
    return this.#fd;
  }

  onReceive(handler: DatagramHandler): void {
    this.#handler = handler;
  }

  send(to: Endpoint, data: Uint8Array): void {
    if (this.#closed) return;
    const name = this.#codec.encode(to);
    if (name === null || data.length > this.#tx.slotBytes) {
      this.stats.sendDrops++;
      return;
    }
    const i = this.#txCount++;
    this.#tx.setSend(i, name, data);
    this.#txLengths[i] = data.length;
    if (this.#txCount === this.#tx.count) {
      this.flush();
    } else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushFromMicrotask);
    }
  }

  flush(): void {
    const count = this.#txCount;
    if (count === 0 || this.#closed) return;
    this.#txCount = 0;
    const headers = this.#tx.headers;
    let start = 0;
    while (start < count) {
      const view = start === 0 ? headers : headers.subarray(start * MMSGHDR_BYTES);
      const n = this.#c.sendmmsg(this.#fd, view, count - start, 0);
      if (n > 0) {
        for (let i = start; i < start + n; i++) this.stats.bytesSent += this.#txLengths[i]!;
        this.stats.datagramsSent += n;
        start += n;
        continue;
      }
      const code = n < 0 ? errno() : Errno.EAGAIN;
      if (code === Errno.EINTR) continue;
      if (code === Errno.EAGAIN || code === Errno.ENOBUFS) {
        this.stats.sendDrops += count - start; // socket buffer full: drop the rest
        return;
      }
      this.stats.sendDrops++; // this datagram cannot be sent (unreachable, too large, ...)
      start++;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#txCount = 0;
    this.#loop.remove(this.#fd);
    this.#c.close(this.#fd);
  }

  #onReadable(): void {
    const rx = this.#rx;
    let failure: unknown = undefined;
    let failed = false;
    for (let round = 0; round < MAX_RECEIVE_ROUNDS && !this.#closed; round++) {
      rx.resetForReceive();
      const n = this.#c.recvmmsg(this.#fd, rx.headers, rx.count, MSG_DONTWAIT, null);
      if (n <= 0) {
        if (n < 0 && errno() === Errno.EINTR) continue;
        break; // EAGAIN (drained) or a transient socket error: the loop polls again
      }
      for (let i = 0; i < n && !this.#closed; i++) {
        if ((rx.messageFlags(i) & MSG_TRUNC) !== 0) {
          this.stats.receiveDrops++;
          continue;
        }
        const from = this.#codec.decode(rx.names, rx.namesView, rx.nameOffset(i));
        if (from === null) continue;
        const len = rx.messageLength(i);
        this.stats.datagramsReceived++;
        this.stats.bytesReceived += len;
        const off = i * rx.slotBytes;
        try {
          this.#handler(rx.data.subarray(off, off + len), from);
        } catch (err) {
          if (!failed) failure = err;
          failed = true;
        }
      }
      if (n < rx.count) break;
    }
    if (failed) throw failure;
  }
}

/** setsockopt with an int value; true on success. */
function setIntOption(fd: number, level: number, name: number, value: number): boolean {
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

/** Socket option numbers, for `getIntOption`. */
export const SocketOption = { SOL_SOCKET, SO_RCVBUF, SO_SNDBUF } as const;
