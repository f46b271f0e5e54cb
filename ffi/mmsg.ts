/**
 * A preallocated batch of `struct mmsghdr` for `recvmmsg`/`sendmmsg` (Linux x86_64/aarch64).
 *
 * Each slot owns one header, one iovec, one 28-byte name and one data buffer of `slotBytes`,
 * all in four large buffers whose addresses are taken once (kept alive as fields):
 *
 * ```
 * struct mmsghdr (64 bytes, padded)
 *  0          8            16         24           32            40              48      52     56        64
 * +----------+------------+----------+------------+-------------+---------------+-------+------+---------+---+
 * | msg_name | msg_namelen| msg_iov  | msg_iovlen | msg_control | msg_controllen| flags | pad  | msg_len |pad|
 * |  (ptr)   | u32 + pad  |  (ptr)   |  (size_t)  |   (ptr)     |   (size_t)    | i32   |      |  u32    |   |
 * +----------+------------+----------+------------+-------------+---------------+-------+------+---------+---+
 * struct iovec (16 bytes): iov_base (ptr) @0, iov_len (size_t) @8
 * ```
 */

import { SOCKADDR_IN6_BYTES } from "./sockaddr.ts";

/** `sizeof(struct mmsghdr)` on 64-bit Linux. */
export const MMSGHDR_BYTES = 64;
/** `sizeof(struct iovec)` on 64-bit Linux. */
export const IOVEC_BYTES = 16;
/** Bytes reserved per name slot (sockaddr_in6 rounded up to 8). */
export const NAME_SLOT_BYTES = 32;

const OFF_NAME = 0;
const OFF_NAMELEN = 8;
const OFF_IOV = 16;
const OFF_IOVLEN = 24;
const OFF_FLAGS = 48;
const OFF_LEN = 56;

/** `MSG_TRUNC`: set in `msg_flags` when a datagram was longer than its buffer. */
export const MSG_TRUNC = 0x20;
/** `MSG_DONTWAIT`. */
export const MSG_DONTWAIT = 0x40;

/** A batch of `count` message slots, each with a `slotBytes` data buffer. */
export class MmsgBatch {
  /** The `struct mmsghdr` array, passed to `recvmmsg`/`sendmmsg`. */
  readonly headers: Uint8Array;
  /** All name slots (`NAME_SLOT_BYTES` each). */
  readonly names: Uint8Array;
  /** A view over `names`. */
  readonly namesView: DataView;
  /** All data slots (`slotBytes` each). */
  readonly data: Uint8Array;
  readonly #hv: DataView;
  readonly #iov: Uint8Array;
  readonly #iv: DataView;

  constructor(readonly count: number, readonly slotBytes: number) {
    this.headers = new Uint8Array(count * MMSGHDR_BYTES);
    this.#iov = new Uint8Array(count * IOVEC_BYTES);
    this.names = new Uint8Array(count * NAME_SLOT_BYTES);
    this.data = new Uint8Array(count * slotBytes);
    this.#hv = new DataView(this.headers.buffer);
    this.namesView = new DataView(this.names.buffer);
    const iv = this.#iv = new DataView(this.#iov.buffer);
    const iovBase = addressOf(this.#iov);
    const nameBase = addressOf(this.names);
    const dataBase = addressOf(this.data);
    for (let i = 0; i < count; i++) {
      const h = i * MMSGHDR_BYTES;
      this.#hv.setBigUint64(h + OFF_NAME, nameBase + BigInt(i * NAME_SLOT_BYTES), true);
      this.#hv.setUint32(h + OFF_NAMELEN, SOCKADDR_IN6_BYTES, true);
      this.#hv.setBigUint64(h + OFF_IOV, iovBase + BigInt(i * IOVEC_BYTES), true);
      this.#hv.setBigUint64(h + OFF_IOVLEN, 1n, true);
      iv.setBigUint64(i * IOVEC_BYTES, dataBase + BigInt(i * slotBytes), true);
      iv.setBigUint64(i * IOVEC_BYTES + 8, BigInt(slotBytes), true);
    }
  }

  /** Prepares every slot for `recvmmsg`: full-size names and cleared flags. */
  resetForReceive(): void {
    const hv = this.#hv;
    for (let h = 0; h < this.headers.length; h += MMSGHDR_BYTES) {
      hv.setUint32(h + OFF_NAMELEN, SOCKADDR_IN6_BYTES, true);
      hv.setInt32(h + OFF_FLAGS, 0, true);
      hv.setUint32(h + OFF_LEN, 0, true);
    }
  }

  /** Fills slot `i` for `sendmmsg` with a copy of `name` and `payload` (payload fits the slot). */
  setSend(i: number, name: Uint8Array, payload: Uint8Array): void {
    const h = i * MMSGHDR_BYTES;
    this.names.set(name, i * NAME_SLOT_BYTES);
    this.#hv.setUint32(h + OFF_NAMELEN, name.length, true);
    this.#hv.setInt32(h + OFF_FLAGS, 0, true);
    this.data.set(payload, i * this.slotBytes);
    // iov_len is a size_t; the high half stays zero since payloads fit a slot.
    this.#iv.setUint32(i * IOVEC_BYTES + 8, payload.length, true);
  }

  /** `msg_len` of slot `i` (bytes received or sent). */
  messageLength(i: number): number {
    return this.#hv.getUint32(i * MMSGHDR_BYTES + OFF_LEN, true);
  }

  /** `msg_flags` of slot `i` after `recvmmsg`. */
  messageFlags(i: number): number {
    return this.#hv.getInt32(i * MMSGHDR_BYTES + OFF_FLAGS, true);
  }

  /** Byte offset of slot `i`'s name in `names`. */
  nameOffset(i: number): number {
    return i * NAME_SLOT_BYTES;
  }
}

/** The address of a (large, off-heap) buffer, as a bigint. */
function addressOf(buf: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
}
