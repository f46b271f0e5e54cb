/**
 * The real `Tun`: a Linux TUN device (layer 3, no packet-info header) opened through libc FFI,
 * configured by ioctl, and read by the poll-based `IoLoop` without a Promise per packet.
 */
import {
  check,
  cString,
  Errno,
  errno,
  libc,
  LibcError,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
} from "./libc.ts";
import type { IoLoop } from "./io_loop.ts";
import {
  IFREQ_UNION_OFFSET,
  ifreqName,
  newIfreq,
  parseIpv4,
  prefixToNetmask,
  setIpv4Address,
  setMtu,
  setTxQueueLength,
  setUp,
  validateMtu,
} from "./netif_config.ts";
import { openError, setIffError, TunError, validateIfName } from "./tun_errors.ts";
import {
  newTunStats,
  type PacketHandler,
  type Tun,
  TUN_HEADROOM,
  TUN_TAILROOM,
  type TunStats,
} from "../lib/tun/tun.ts";

/** `_IOW('T', 202, int)`: attach the fd to a (new) TUN interface. */
const TUNSETIFF = 0x400454ca;
/** Layer-3 device. */
const IFF_TUN = 0x0001;
/** No 4-byte packet-info header in front of each packet. */
const IFF_NO_PI = 0x1000;
/** Fail (EBUSY) instead of attaching to an existing persistent TUN device of the same name. */
const IFF_TUN_EXCL = 0x8000;
/** EBADFD: the fd is no longer attached to an interface. */
const EBADFD = 77;
/** The TUN clone device. */
const DEV_NET_TUN = cString("/dev/net/tun");

/** Name pattern used when none is given; the kernel picks the first free `ipopN`. */
export const DEFAULT_NAME_PATTERN = "ipop%d";

/** Tuning: the TUN transmit queue (host → agent), in packets; the kernel's default of 500 overflows
 * under TCP bursts while the agent is busy sealing. */
export const TX_QUEUE_PACKETS = 2000;
/** Tuning: the most packets one readable event drains, so other sources get a turn. */
export const MAX_PACKETS_PER_DRAIN = 256;
/** Tuning: read-buffer bytes beyond max(MTU, 1500), for packets slightly over the MTU. */
export const READ_SLACK_BYTES = 256;
/** Tuning: consecutive failed reads after which the device stops reading and reports. */
const MAX_CONSECUTIVE_READ_ERRORS = 64;

/** How to create a `TunDevice`. */
export interface TunOpenOptions {
  /** Interface name (1..15 bytes, may hold one `%d`); default `ipop%d`, picked by the kernel. */
  name?: string;
  /** Interface MTU in bytes (68..65535). */
  mtu: number;
  /** IPv4 address and prefix length to assign now (or later with `setAddress`). */
  address?: { ip: string; prefix: number };
}

/** `TunStats` plus what only a real device sees. */
export interface TunDeviceStats extends TunStats {
  /** Reads the kernel failed (e.g. a packet larger than the read buffer); the packet is lost. */
  readDrops: number;
}

/**
 * A Linux TUN interface. Create with `TunDevice.open`; it is registered with the given `IoLoop`,
 * which calls the packet handler while the loop runs.
 *
 * Contract (beyond `Tun`): the packet handed to the handler is a view into one read buffer that
 * is reused for the next packet; it has `TUN_HEADROOM` bytes before it and `TUN_TAILROOM` after it.
 * A handler that throws ends the current drain (the `IoLoop` reports the error); reading goes on
 * at the next round. If reads keep failing (the interface was deleted under us), the device
 * stops reading and reports one `TunError` through `loop.onError`. `close()` removes the fd
 * from the loop and closes it, which deletes the (non-persistent) interface.
 */
export class TunDevice implements Tun {
  /** The interface name as the kernel registered it. */
  readonly name: string;
  /** The interface MTU in bytes. */
  readonly mtu: number;
  /** Counters, for status. */
  readonly stats: TunDeviceStats = { ...newTunStats(), readDrops: 0 };

  readonly #c = libc();
  readonly #loop: IoLoop;
  readonly #fd: number;
  readonly #buf: Uint8Array;
  readonly #readView: Uint8Array;
  readonly #readMaxBig: bigint;
  #handler: PacketHandler = () => {};
  #closed = false;
  #readErrors = 0;

  /**
   * Creates and configures a TUN interface: opens /dev/net/tun, attaches a new interface (named
   * `opts.name`, or `ipopN` picked by the kernel), sets its MTU and optional IPv4 address, brings
   * it up and registers it with `loop`. Throws `TunError` with a one-line reason (no device left
   * behind).
   */
  static open(loop: IoLoop, opts: TunOpenOptions): TunDevice {
    const wanted = opts.name ?? DEFAULT_NAME_PATTERN;
    validateIfName(wanted);
    validateMtu(opts.mtu);
    if (opts.address) {
      parseIpv4(opts.address.ip);
      prefixToNetmask(opts.address.prefix);
    }
    const c = libc();
    let fd: number;
    try {
      fd = check("open", c.open(DEV_NET_TUN, O_RDWR | O_NONBLOCK | O_CLOEXEC));
    } catch (err) {
      throw err instanceof LibcError ? openError(err) : err;
    }
    try {
      const req = newIfreq(wanted);
      new DataView(req.buffer).setUint16(
        IFREQ_UNION_OFFSET,
        IFF_TUN | IFF_NO_PI | IFF_TUN_EXCL,
        true,
      );
      try {
        check("ioctl(TUNSETIFF)", c.ioctl(fd, BigInt(TUNSETIFF), req));
      } catch (err) {
        throw err instanceof LibcError ? setIffError(err, wanted) : err;
      }
      const name = ifreqName(req);
      setMtu(name, opts.mtu);
      setTxQueueLength(name, TX_QUEUE_PACKETS);
      if (opts.address) setIpv4Address(name, opts.address.ip, opts.address.prefix);
      setUp(name);
      return new TunDevice(loop, fd, name, opts.mtu);
    } catch (err) {
      c.close(fd);
      throw err;
    }
  }

  private constructor(loop: IoLoop, fd: number, name: string, mtu: number) {
    this.#loop = loop;
    this.#fd = fd;
    this.name = name;
    this.mtu = mtu;
    const readMax = Math.max(mtu, 1500) + READ_SLACK_BYTES;
    this.#readMaxBig = BigInt(readMax);
    this.#buf = new Uint8Array(TUN_HEADROOM + readMax + TUN_TAILROOM);
    this.#readView = this.#buf.subarray(TUN_HEADROOM, TUN_HEADROOM + readMax);
    loop.add(fd, this.#drain);
  }

  /** Sets the receiver of packets read from the device (replacing any earlier one). */
  onPacket(handler: PacketHandler): void {
    this.#handler = handler;
  }

  /**
   * Writes one IP packet to the host, synchronously. A packet the kernel refuses (bad header,
   * interface down, queue full) is counted in `stats.writeDrops`, never thrown. No-op after close.
   */
  write(packet: Uint8Array): void {
    if (this.#closed) return;
    if (packet.length === 0) {
      this.stats.writeDrops++;
      return;
    }
    const n = Number(this.#c.write(this.#fd, packet, BigInt(packet.length)));
    if (n !== packet.length) {
      this.stats.writeDrops++;
      return;
    }
    this.stats.packetsWritten++;
    this.stats.bytesWritten += n;
  }

  /**
   * Sets (replaces) the interface's IPv4 address and prefix, e.g. once DHCP has assigned one.
   * Throws `TunError`.
   */
  setAddress(ip: string, prefix: number): void {
    if (this.#closed) throw new TunError(`TUN device "${this.name}" is closed`);
    setIpv4Address(this.name, ip, prefix);
  }

  /** Stops reading and deletes the interface. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handler = () => {};
    this.#loop.remove(this.#fd);
    this.#c.close(this.#fd);
  }

  /** The IoLoop source: drains the fd into the one read buffer until EAGAIN or the cap. */
  #drain = (): void => {
    const c = this.#c;
    for (let i = 0; i < MAX_PACKETS_PER_DRAIN && !this.#closed; i++) {
      const n = Number(c.read(this.#fd, this.#readView, this.#readMaxBig));
      if (n <= 0) {
        if (n === 0) return;
        const code = errno();
        if (code === Errno.EAGAIN) return;
        if (code !== Errno.EINTR && this.#readFailed(code)) return;
        continue;
      }
      this.#readErrors = 0;
      this.stats.packetsRead++;
      this.stats.bytesRead += n;
      this.#handler(this.#buf.subarray(TUN_HEADROOM, TUN_HEADROOM + n));
    }
  };

  /** Counts a failed read; returns true when the drain should stop. */
  #readFailed(code: number): boolean {
    this.stats.readDrops++;
    const fatal = code === Errno.EBADF || code === EBADFD;
    if (!fatal && ++this.#readErrors < MAX_CONSECUTIVE_READ_ERRORS) return false;
    this.#loop.remove(this.#fd);
    this.#loop.onError(
      new TunError(`Reading TUN device "${this.name}" failed; it stopped reading`, {
        cause: new LibcError("read", code),
      }),
    );
    return true;
  }
}
