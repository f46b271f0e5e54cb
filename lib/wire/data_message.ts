import { type MessageType, writeCommonHeader } from "./header.ts";

/**
 * A data message: one IP packet (or nothing: a keepalive) sealed with the session's key.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  version = 1  |  type = 4 or 5 |          reserved = 0         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               receiver's session index (u32 LE)               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  counter (u64 LE, the AEAD nonce)             |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  ChaCha20-Poly1305 ciphertext of the packet ... | tag (16)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Type 4 carries an IP packet, type 5 an overlay message; both use the same session and
 * counters. The 16-byte header is the AEAD's associated data, so it is authenticated too.
 */

/** Bytes before the ciphertext. */
export const DATA_HEADER_BYTES = 16;
/** Bytes of the authentication tag after the ciphertext. */
export const DATA_TAG_BYTES = 16;
/** Bytes a data message adds to the packet it carries. */
export const DATA_OVERHEAD_BYTES = DATA_HEADER_BYTES + DATA_TAG_BYTES;

const TWO_POW_32 = 2 ** 32;

/** The two kinds of data message. */
export type DataType = typeof MessageType.Data | typeof MessageType.OverlayData;

/** Writes a data header for `receiverIndex` and `counter` at the start of `out`. */
export function writeDataHeader(
  out: Uint8Array,
  type: DataType,
  receiverIndex: number,
  counter: number,
): void {
  writeCommonHeader(out, type);
  const lo = counter % TWO_POW_32;
  const hi = (counter - lo) / TWO_POW_32;
  out[4] = receiverIndex;
  out[5] = receiverIndex >>> 8;
  out[6] = receiverIndex >>> 16;
  out[7] = receiverIndex >>> 24;
  out[8] = lo;
  out[9] = lo >>> 8;
  out[10] = lo >>> 16;
  out[11] = lo >>> 24;
  out[12] = hi;
  out[13] = hi >>> 8;
  out[14] = hi >>> 16;
  out[15] = hi >>> 24;
}

/** The receiver index of a data message at least `DATA_HEADER_BYTES` long. */
export function readReceiverIndex(msg: Uint8Array): number {
  return (msg[4]! | (msg[5]! << 8) | (msg[6]! << 16) | (msg[7]! << 24)) >>> 0;
}

/** The counter of a data message at least `DATA_HEADER_BYTES` long (exact below 2^53). */
export function readCounter(msg: Uint8Array): number {
  const lo = (msg[8]! | (msg[9]! << 8) | (msg[10]! << 16) | (msg[11]! << 24)) >>> 0;
  const hi = (msg[12]! | (msg[13]! << 8) | (msg[14]! << 16) | (msg[15]! << 24)) >>> 0;
  return hi * TWO_POW_32 + lo;
}
