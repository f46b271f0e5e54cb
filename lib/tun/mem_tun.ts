import {
  newTunStats,
  type PacketHandler,
  type Tun,
  TUN_HEADROOM,
  TUN_TAILROOM,
  type TunStats,
} from "./tun.ts";

/** How to create a `MemTun`. */
export interface MemTunOptions {
  /** Interface name to report (default "mem0"). */
  name?: string;
  /** MTU in bytes (default 1400); `inject` refuses longer packets, as a real device never reads them. */
  mtu?: number;
}

/**
 * An in-memory `Tun` for tests and the simulator: the test plays the host.
 *
 * - `inject(packet)` is the host sending a packet into the tunnel: it is copied into a fresh
 *   buffer with `TUN_HEADROOM` bytes before and `TUN_TAILROOM` after, and handed to the handler
 *   synchronously (the handler may keep or modify that buffer; it is not reused).
 * - `write(packet)` is the agent delivering a packet to the host: a copy is appended to
 *   `written` and passed to `onWrite` if set. Set `refuseWrites` to model a kernel that refuses
 *   packets (they count in `stats.writeDrops`).
 * - After `close()`, `inject` and `write` are no-ops and the handler is never called again.
 */
export class MemTun implements Tun {
  /** The interface name. */
  readonly name: string;
  /** The MTU in bytes. */
  readonly mtu: number;
  /** Counters, kept as a real device keeps them. */
  readonly stats: TunStats = newTunStats();
  /** Copies of every packet written to the host, oldest first. */
  readonly written: Uint8Array[] = [];
  /** Called with each written packet's copy (e.g. to route it on in a simulated host). */
  onWrite: ((packet: Uint8Array) => void) | undefined;
  /** When true, `write` drops packets as a refusing kernel would. */
  refuseWrites = false;

  #handler: PacketHandler = () => {};
  #closed = false;

  constructor(opts: MemTunOptions = {}) {
    this.name = opts.name ?? "mem0";
    this.mtu = opts.mtu ?? 1400;
  }

  /** True once `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sets the receiver of injected packets (replacing any earlier one). */
  onPacket(handler: PacketHandler): void {
    this.#handler = handler;
  }

  /**
   * Delivers `packet` to the handler as if read from the device. Returns false (and delivers
   * nothing) after close. Throws `RangeError` for an empty packet or one longer than the MTU.
   */
  inject(packet: Uint8Array): boolean {
    if (this.#closed) return false;
    if (packet.length === 0 || packet.length > this.mtu) {
      throw new RangeError(`MemTun: packet of ${packet.length} bytes, MTU is ${this.mtu}`);
    }
    const buf = new Uint8Array(TUN_HEADROOM + packet.length + TUN_TAILROOM);
    buf.set(packet, TUN_HEADROOM);
    this.stats.packetsRead++;
    this.stats.bytesRead += packet.length;
    this.#handler(buf.subarray(TUN_HEADROOM, TUN_HEADROOM + packet.length));
    return true;
  }

  /** Records a copy of `packet` as delivered to the host; the caller may reuse its buffer. */
  write(packet: Uint8Array): void {
    if (this.#closed) return;
    if (this.refuseWrites || packet.length === 0) {
      this.stats.writeDrops++;
      return;
    }
    const copy = packet.slice();
    this.written.push(copy);
    this.stats.packetsWritten++;
    this.stats.bytesWritten += copy.length;
    this.onWrite?.(copy);
  }

  /** Removes and returns everything written so far. */
  takeWritten(): Uint8Array[] {
    return this.written.splice(0);
  }

  /** Stops delivery; idempotent. */
  close(): void {
    this.#closed = true;
    this.#handler = () => {};
  }
}
