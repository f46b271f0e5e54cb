/**
 * Receives packets read from a TUN device: one raw IP packet (no packet-info header).
 *
 * `packet` is a view into the device's read buffer, valid only during the call. The buffer has
 * `TUN_HEADROOM` writable bytes before the view and `TUN_TAILROOM` after it, so a handler may
 * encrypt it in place (header in front, tag behind) through `packet.buffer`.
 */
export type PacketHandler = (packet: Uint8Array) => void;

/** Bytes a `Tun` leaves free before each packet it hands out. */
export const TUN_HEADROOM = 32;
/** Bytes a `Tun` leaves free after each packet it hands out. */
export const TUN_TAILROOM = 32;

/**
 * The seam for the host's layer-3 virtual interface (real: Linux TUN through FFI; fake: `MemTun`).
 *
 * Contract:
 * - The handler set by `onPacket` is called synchronously, once per packet, from the device's own
 *   delivery (the I/O loop or the test), never re-entrantly from `write`.
 * - `write` writes one IP packet synchronously; it never throws for a packet the kernel refuses
 *   (that is counted in `stats.writeDrops`). The caller may reuse its buffer at once.
 * - After `close()` the interface is gone from the host, `write` is a no-op and no handler is
 *   called again. `close()` is idempotent.
 */
export interface Tun {
  /** The interface name (as the kernel chose it when none was asked for). */
  readonly name: string;
  /** The interface MTU. */
  readonly mtu: number;
  /** Sets the receiver of packets read from the device. */
  onPacket(handler: PacketHandler): void;
  /** Writes one IP packet to the host. */
  write(packet: Uint8Array): void;
  /** Counters, for status. */
  readonly stats: TunStats;
  /** Removes the interface. */
  close(): void;
}

/** Counters every Tun keeps. */
export interface TunStats {
  packetsRead: number;
  packetsWritten: number;
  bytesRead: number;
  bytesWritten: number;
  /** Packets the kernel refused on write. */
  writeDrops: number;
}

/** A fresh zeroed `TunStats`. */
export function newTunStats(): TunStats {
  return { packetsRead: 0, packetsWritten: 0, bytesRead: 0, bytesWritten: 0, writeDrops: 0 };
}
