/**
 * The real `Transport`: a non-blocking UDP socket driven by the `IoLoop`, receiving with
 * `recvmmsg` and sending with `sendmmsg` through preallocated batches (no Promise, no string and
 * no buffer allocated per datagram for known senders).
 */

import type { IoLoop } from "./io_loop.ts";
import { Errno, errno, libc } from "./libc.ts";
import { MmsgBatch, MMSGHDR_BYTES, MSG_DONTWAIT, MSG_TRUNC } from "./mmsg.ts";
import { type FanHit, PortFan } from "./port_fan.ts";
import { SockaddrCodec } from "./sockaddr.ts";
import { openUdpSocket, setTtl } from "./udp_socket.ts";
import type { Endpoint } from "../lib/transport/endpoint.ts";
import {
  type DatagramHandler,
  type FanOutOptions,
  newTransportStats,
  type Transport,
  type TransportStats,
} from "../lib/transport/transport.ts";

/** Default kernel socket buffer size, each direction. */
export const DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** Default number of datagrams per `recvmmsg`/`sendmmsg`. */
export const DEFAULT_BATCH_SIZE = 64;
/** Default bytes per datagram slot: larger datagrams are dropped (our MTU is far below). */
export const DEFAULT_SLOT_BYTES = 2048;
/** The most `recvmmsg` rounds one readable event drains before returning to the loop. */
const MAX_RECEIVE_ROUNDS = 16;
/** Fans of sockets open at once (each holds up to `FanOutOptions.count` descriptors). */
const MAX_FANS = 2;
/** Sockets taken over from fans at once (each is one more source of the `IoLoop`). */
const MAX_PINS = 8;
/** A taken-over socket that received nothing for this many sweeps (a minute) is closed. */
const PIN_SWEEP_MS = 10_000;
const PIN_IDLE_SWEEPS = 6;
/** Datagrams per batched syscall on a taken-over socket (one peer's traffic). */
const PIN_BATCH_SIZE = 16;

/** A socket taken over from a fan: it alone reaches one peer through our NAT. */
interface Pin {
  transport: UdpTransport;
  /** Set by every datagram received, cleared by the sweep (no clock read per datagram). */
  received: boolean;
  /** Sweeps in a row that found nothing received. */
  idleSweeps: number;
}

function pinKey(ep: Endpoint): string {
  return `${ep.host} ${ep.port}`;
}

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
  readonly stats: UdpTransportStats;
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
  readonly #removeAfterBurst: () => void;
  /** Open fans, by their targets' hosts (sorted, joined). */
  readonly #fans = new Map<string, PortFan>();
  /** Sockets taken over from fans, by the peer endpoint each one serves. */
  readonly #pins = new Map<string, Pin>();
  /** `pinKey` of the endpoints sent to, cached per (interned) endpoint object. */
  readonly #pinKeys = new WeakMap<Endpoint, string>();
  #pinSweep: ReturnType<typeof setTimeout> | undefined;
  readonly #flushFromMicrotask = () => {
    this.#flushQueued = false;
    this.flush();
  };

  private constructor(
    loop: IoLoop,
    fd: number,
    local: Endpoint,
    opts: UdpTransportOptions,
    stats?: UdpTransportStats,
  ) {
    this.stats = stats ?? { ...newTransportStats(), receiveDrops: 0 };
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
    this.#removeAfterBurst = loop.afterBurst(() => this.flush());
    loop.wake(); // IoLoop.add does not interrupt a poll already waiting without this fd
  }

  /**
   * Opens a UDP socket bound to `local` (port 0 picks a free port; see `localEndpoint`) and
   * registers it with `loop`. Throws a one-line `Error` ("Cannot listen on HOST:PORT: reason")
   * when the socket cannot be created or bound.
   */
  static bind(loop: IoLoop, local: Endpoint, opts: UdpTransportOptions = {}): UdpTransport {
    const bufferBytes = opts.socketBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES;
    const { fd, bound } = openUdpSocket(local, bufferBytes);
    return new UdpTransport(loop, fd, bound, opts);
  }

  /**
   * Sends `data` to `to` right away with IP TTL (IPv6 hop limit) `ttl`, then restores the
   * default. Whatever is queued goes first, so the order of sends is kept.
   */
  sendPrimer(to: Endpoint, data: Uint8Array, ttl: number): void {
    if (this.#closed) return;
    this.flush();
    const family = this.localEndpoint.family;
    if (!setTtl(this.#fd, family, to, ttl)) return void this.stats.sendDrops++;
    try {
      this.send(to, data);
      this.flush();
    } finally {
      setTtl(this.#fd, family, to, -1);
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
    if (this.#pins.size > 0) {
      let key = this.#pinKeys.get(to);
      if (key === undefined) {
        key = pinKey(to);
        this.#pinKeys.set(to, key);
      }
      const pin = this.#pins.get(key);
      if (pin) return pin.transport.send(to, data);
    }
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
    for (const fan of this.#fans.values()) fan.close();
    this.#fans.clear();
    for (const pin of this.#pins.values()) pin.transport.close();
    this.#pins.clear();
    clearTimeout(this.#pinSweep);
    this.#removeAfterBurst();
    this.#loop.remove(this.#fd);
    this.#c.close(this.#fd);
  }

  /**
   * Birthday punching (see `PortFan`): opens `opts.count` sockets on our address, each priming
   * its own NAT mapping toward `targets` with `data`. The first datagram one of them receives
   * from a target's address is delivered like any other, and from then on that socket carries
   * everything sent to (and received from) its sender, until it is idle for a minute. A fan
   * toward the same hosts replaces the one open. False when refused: too many fans or
   * taken-over sockets already, or no socket could be opened.
   */
  fanOut(targets: readonly Endpoint[], data: Uint8Array, opts: FanOutOptions): boolean {
    if (this.#closed || this.#pins.size >= MAX_PINS) return false;
    const hosts = new Set(targets.map((t) => t.host));
    const key = [...hosts].sort().join(" ");
    // A new fan toward the same peer replaces the old one (fresh mappings, a full window).
    this.#fans.get(key)?.close();
    this.#fans.delete(key);
    if (this.#fans.size >= MAX_FANS) return false;
    let fan: PortFan;
    try {
      fan = new PortFan(
        this.localEndpoint,
        targets,
        data,
        opts,
        (from) => hosts.has(from.host),
        (hit) => this.#pin(hit),
        () => this.#fans.get(key) === fan && this.#fans.delete(key),
      );
    } catch {
      return false;
    }
    this.#fans.set(key, fan);
    return true;
  }

  /** Told when a fan's socket is taken over (for logs): its local endpoint and the peer's. */
  onPinned: (local: Endpoint, peer: Endpoint) => void = () => {};

  /** Told when a taken-over socket is closed for being idle. */
  onPinClosed: (local: Endpoint) => void = () => {};

  /** Sockets taken over from fans (for status and tests). */
  get pinnedSockets(): number {
    return this.#pins.size;
  }

  #pin(hit: FanHit): void {
    if (this.#closed || this.#pins.size >= MAX_PINS) return void this.#c.close(hit.fd);
    const key = pinKey(hit.from);
    this.#pins.get(key)?.transport.close();
    const opts = { batchSize: PIN_BATCH_SIZE, slotBytes: this.#rx.slotBytes };
    const transport = new UdpTransport(this.#loop, hit.fd, hit.local, opts, this.stats);
    const pin: Pin = { transport, received: true, idleSweeps: 0 };
    transport.onReceive((data, from) => {
      pin.received = true;
      this.#handler(data, from);
    });
    this.#pins.set(key, pin);
    this.#schedulePinSweep();
    this.onPinned(hit.local, hit.from);
    this.stats.datagramsReceived++;
    this.stats.bytesReceived += hit.data.length;
    try {
      this.#handler(hit.data, hit.from);
    } catch (err) {
      this.#loop.onError(err);
    }
  }

  #schedulePinSweep(): void {
    if (this.#pinSweep !== undefined || this.#closed) return;
    this.#pinSweep = setTimeout(() => {
      this.#pinSweep = undefined;
      for (const [key, pin] of this.#pins) {
        pin.idleSweeps = pin.received ? 0 : pin.idleSweeps + 1;
        pin.received = false;
        if (pin.idleSweeps < PIN_IDLE_SWEEPS) continue;
        this.onPinClosed(pin.transport.localEndpoint);
        pin.transport.close();
        this.#pins.delete(key);
      }
      if (this.#pins.size > 0) this.#schedulePinSweep();
    }, PIN_SWEEP_MS);
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

export { getIntOption, SocketOption } from "./udp_socket.ts";
