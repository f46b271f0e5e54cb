/**
 * Birthday hole punching, the side behind a NAT that gives every destination a fresh random
 * public port ("symmetric"). One socket has one mapping toward the peer, at a port nobody can
 * predict; `count` sockets have `count` of them. Each socket sends a primer toward the peer
 * (a small IP TTL: it opens our NAT's mapping and expires before the peer's NAT, where an early
 * arrival would make that NAT remap the peer's port). The peer then sends its handshake to many
 * random ports of our NAT: with 256 mappings among ~64,000 ports and 1,024 guesses, one guess
 * hits a mapping with odds of about 98% and reaches the socket behind it.
 *
 * The sockets are polled (one `poll` over all of them every `pollMs`) until the first datagram
 * from an accepted sender arrives: that socket is handed over (`onHit`) with the datagram, and
 * the others are closed. After `windowMs` without a hit all are closed (`onEnd`).
 */

import { Errno, errno, libc, POLLIN } from "./libc.ts";
import { SOCKADDR_IN6_BYTES, SockaddrCodec } from "./sockaddr.ts";
import { openUdpSocket, setTtl } from "./udp_socket.ts";
import type { Endpoint } from "../lib/transport/endpoint.ts";
import type { FanOutOptions } from "../lib/transport/transport.ts";

/**
 * What a fan of sockets is told: `Transport.fanOut`'s options (it opens fewer than `count`
 * sockets when the process runs out of descriptors, at least one) and how often to poll.
 */
export interface PortFanOptions extends FanOutOptions {
  /** How often the sockets are polled (default 20 ms). */
  pollMs?: number;
}

/** The socket that received a datagram from an accepted sender, with that datagram. */
export interface FanHit {
  fd: number;
  local: Endpoint;
  data: Uint8Array;
  from: Endpoint;
}

const DEFAULT_POLL_MS = 20;
/** Datagrams read from one ready socket per poll (the rest wait for the next poll). */
const READS_PER_SOCKET = 8;
const SLOT_BYTES = 2048;

/** See the module doc. */
export class PortFan {
  readonly #c = libc();
  readonly #fds: number[] = [];
  readonly #ports: number[] = [];
  readonly #local: Endpoint;
  readonly #codec: SockaddrCodec;
  #pollfds: Uint8Array = new Uint8Array(0);
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #endAt: number;
  #closed = false;
  /** Datagrams from senders that were not accepted (dropped). */
  ignored = 0;

  /**
   * Opens the sockets on `local`'s address (its port is ignored), primes each toward every one
   * of `targets` and starts polling. `accept` says which senders may take a socket over.
   * Throws when not even one socket can be opened.
   */
  constructor(
    local: Endpoint,
    targets: readonly Endpoint[],
    primer: Uint8Array,
    readonly opts: PortFanOptions,
    private readonly accept: (from: Endpoint) => boolean,
    private readonly onHit: (hit: FanHit) => void,
    private readonly onEnd: () => void = () => {},
  ) {
    this.#local = local;
    this.#codec = new SockaddrCodec(local.family);
    for (let i = 0; i < opts.count; i++) {
      let opened: { fd: number; bound: Endpoint };
      try {
        opened = openUdpSocket({ ...local, port: 0 });
      } catch (err) {
        if (this.#fds.length > 0) break; // out of descriptors: fewer sockets, lower odds
        throw err;
      }
      this.#fds.push(opened.fd);
      this.#ports.push(opened.bound.port);
      for (const to of targets) this.#prime(opened.fd, to, primer);
    }
    this.#rebuild();
    this.#endAt = performance.now() + opts.windowMs;
    this.#schedule();
  }

  /** The local ports of the sockets still open (for tests and diagnostics). */
  get ports(): readonly number[] {
    return this.#ports;
  }

  /** Closes every socket still held; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const fd of this.#fds) this.#c.close(fd);
    this.#fds.length = 0;
    this.#ports.length = 0;
  }

  #prime(fd: number, to: Endpoint, primer: Uint8Array): void {
    const sa = this.#codec.encode(to);
    if (!sa || !setTtl(fd, this.#local.family, to, this.opts.ttl)) return;
    this.#c.sendto(fd, primer, BigInt(primer.length), 0, sa, sa.length);
    setTtl(fd, this.#local.family, to, -1);
  }

  #rebuild(): void {
    this.#pollfds = new Uint8Array(8 * this.#fds.length);
    const dv = new DataView(this.#pollfds.buffer);
    this.#fds.forEach((fd, i) => {
      dv.setInt32(i * 8, fd, true);
      dv.setInt16(i * 8 + 4, POLLIN, true);
    });
  }

  #schedule(): void {
    this.#timer = setTimeout(() => this.#poll(), this.opts.pollMs ?? DEFAULT_POLL_MS);
  }

  #poll(): void {
    if (this.#closed) return;
    const n = this.#fds.length;
    if (this.#c.poll(this.#pollfds, BigInt(n), 0) > 0) {
      const dv = new DataView(this.#pollfds.buffer);
      for (let i = 0; i < n; i++) {
        if (dv.getInt16(i * 8 + 6, true) === 0) continue;
        const hit = this.#read(i);
        if (hit) return this.#handOver(i, hit);
      }
    }
    if (performance.now() >= this.#endAt) {
      this.close();
      return this.onEnd();
    }
    this.#schedule();
  }

  /** Reads what socket `i` holds; the first datagram from an accepted sender, if any. */
  #read(i: number): { data: Uint8Array; from: Endpoint } | null {
    const buf = new Uint8Array(SLOT_BYTES);
    const name = new Uint8Array(SOCKADDR_IN6_BYTES);
    const nameLen = new Uint8Array(4);
    const lenView = new DataView(nameLen.buffer);
    for (let r = 0; r < READS_PER_SOCKET; r++) {
      lenView.setUint32(0, name.length, true);
      const got = Number(
        this.#c.recvfrom(this.#fds[i]!, buf, BigInt(buf.length), 0, name, nameLen),
      );
      if (got < 0) {
        if (errno() === Errno.EINTR) continue;
        return null; // EAGAIN: drained
      }
      const from = this.#codec.decode(name, new DataView(name.buffer), 0);
      if (from && this.accept(from)) return { data: buf.slice(0, got), from };
      this.ignored++;
    }
    return null;
  }

  #handOver(i: number, got: { data: Uint8Array; from: Endpoint }): void {
    const fd = this.#fds[i]!;
    const local: Endpoint = Object.freeze({ ...this.#local, port: this.#ports[i]! });
    this.#fds.splice(i, 1);
    this.#ports.splice(i, 1);
    this.close();
    this.onHit({ fd, local, data: got.data, from: got.from });
    this.onEnd();
  }
}
