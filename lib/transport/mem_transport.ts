import type { Endpoint } from "./endpoint.ts";
import {
  type DatagramHandler,
  newTransportStats,
  type Transport,
  type TransportStats,
} from "./transport.ts";

/** The slice of `MemNetwork` a `MemTransport` uses (lets tests drive a transport directly). */
export interface MemFabric {
  /** Takes ownership of `data` (already a copy) for delivery from `from` to `to`. */
  submit(from: Endpoint, to: Endpoint, data: Uint8Array): void;
  /** Frees `transport`'s endpoint; called once, from `close()`. */
  release(transport: MemTransport): void;
  /** A TTL-limited datagram from `from` toward `to`: opens NAT state, delivers nothing. */
  prime(from: Endpoint, to: Endpoint): void;
}

/**
 * The fake `Transport`, bound by `MemNetwork.bind`. Same contract as the real one: `send`
 * copies the datagram and hands it to the network at once (`flush()` has nothing to do);
 * datagrams larger than `maxDatagramBytes` are dropped and counted in `sendDrops`; the handler
 * is called from the network's clock timers, never from inside `send`; after `close()` nothing
 * is sent or delivered.
 */
export class MemTransport implements Transport {
  readonly stats: TransportStats = newTransportStats();
  #handler: DatagramHandler = () => {};
  #closed = false;

  constructor(
    readonly localEndpoint: Endpoint,
    readonly maxDatagramBytes: number,
    readonly fabric: MemFabric,
  ) {}

  /** True once `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  onReceive(handler: DatagramHandler): void {
    this.#handler = handler;
  }

  send(to: Endpoint, data: Uint8Array): void {
    if (this.#closed) return;
    if (data.length > this.maxDatagramBytes) {
      this.stats.sendDrops++;
      return;
    }
    this.stats.datagramsSent++;
    this.stats.bytesSent += data.length;
    this.fabric.submit(this.localEndpoint, to, data.slice());
  }

  flush(): void {}

  /** A primer never arrives here; a NAT model on the network may open a mapping for it. */
  sendPrimer(to: Endpoint, _data: Uint8Array, _ttl: number): void {
    if (this.#closed) return;
    this.stats.datagramsSent++;
    this.fabric.prime(this.localEndpoint, to);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.fabric.release(this);
  }

  /**
   * Called by the network to hand over a datagram (which the handler may keep and modify).
   * Returns false when closed (the datagram is dropped).
   */
  deliver(data: Uint8Array, from: Endpoint): boolean {
    if (this.#closed) return false;
    this.stats.datagramsReceived++;
    this.stats.bytesReceived += data.length;
    this.#handler(data, from);
    return true;
  }
}
