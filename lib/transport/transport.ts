import type { Endpoint } from "./endpoint.ts";

/**
 * Receives datagrams from a transport.
 *
 * `data` is a view into the transport's receive buffer: it is valid only during the call, and the
 * handler may modify it in place (decrypt it) but must copy what it keeps. `from` may be an
 * interned object shared by all datagrams from the same endpoint.
 */
export type DatagramHandler = (data: Uint8Array, from: Endpoint) => void;

/**
 * The seam for sending and receiving datagrams (real: UDP; fake: `MemTransport`).
 *
 * Contract:
 * - `send` never blocks and never throws for network conditions: a datagram that cannot be sent
 *   is dropped and counted in `stats`. It copies `data` before returning, so the caller may reuse
 *   its buffer at once. Sends may be queued until `flush()` (the real transport batches them
 *   into one `sendmmsg`); the owner of the event loop calls `flush()` after each burst.
 * - The handler set by `onReceive` is called synchronously from the transport's own delivery
 *   (the I/O loop or the fake network), never re-entrantly from `send`.
 * - After `close()`, `send` is a no-op and no handler is called again. `close()` is idempotent.
 */
export interface Transport {
  /** The endpoint this transport is bound to (port 0 is resolved to the chosen port). */
  readonly localEndpoint: Endpoint;
  /** Sets the receiver of incoming datagrams (replacing any earlier one). */
  onReceive(handler: DatagramHandler): void;
  /** Queues one datagram for `to`; see the contract above. */
  send(to: Endpoint, data: Uint8Array): void;
  /** Sends everything queued. */
  flush(): void;
  /**
   * Sends `data` to `to` at once with IP TTL (hop limit) `ttl`, so that it opens this host's
   * NAT mapping toward `to` and expires on the way (hole punching). Optional: transports
   * without it cannot prime.
   */
  sendPrimer?(to: Endpoint, data: Uint8Array, ttl: number): void;
  /**
   * Birthday punching from behind a NAT that maps every destination to a fresh port: opens
   * `opts.count` extra sockets, each priming its own mapping toward `targets` with `data` (IP
   * TTL `opts.ttl`), for `opts.windowMs`. The first datagram one receives from a target's
   * address is delivered as usual, and that socket then carries all traffic with its sender.
   * Optional: false (or absent) when the transport cannot or will not.
   */
  fanOut?(targets: readonly Endpoint[], data: Uint8Array, opts: FanOutOptions): boolean;
  /** Counters, for status. */
  readonly stats: TransportStats;
  /** Releases the socket. */
  close(): void;
}

/** How `Transport.fanOut` opens its sockets. */
export interface FanOutOptions {
  /** Sockets to open. */
  count: number;
  /** IP TTL of the primers. */
  ttl: number;
  /** How long the sockets wait for the peer. */
  windowMs: number;
}

/** Counters every transport keeps. */
export interface TransportStats {
  datagramsSent: number;
  datagramsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Datagrams dropped on send (queue full, unreachable, too large). */
  sendDrops: number;
}

/** A fresh zeroed `TransportStats`. */
export function newTransportStats(): TransportStats {
  return { datagramsSent: 0, datagramsReceived: 0, bytesSent: 0, bytesReceived: 0, sendDrops: 0 };
}
