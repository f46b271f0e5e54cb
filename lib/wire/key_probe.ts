import { COMMON_HEADER_BYTES, MessageType, writeCommonHeader } from "./header.ts";

/**
 * Key probes: how a node that knows only a bootstrap endpoint learns the static public key it
 * needs for the Noise IK handshake. Request and answer have the same size, so a probe with a
 * forged source cannot be used to amplify traffic.
 *
 * ```
 *  0        1        2        3        4        5        8                 24                56   64
 * +--------+--------+--------+--------+--------+--------+-----------------+-----------------+----+
 * | ver=1  | type=3 |  reserved (0)   | answer | rsvd   | nonce (16)      | public key (32) | 0s |
 * +--------+--------+--------+--------+--------+--------+-----------------+-----------------+----+
 * ```
 * `answer` is 0 in a request (whose key field is zero) and 1 in an answer. The key is not
 * authenticated here: the handshake that follows authenticates it (and, with a network secret,
 * only members complete it).
 */

/** Bytes of a key probe, request or answer. */
export const KEY_PROBE_BYTES = 64;
/** Bytes of the nonce that ties an answer to its request. */
export const KEY_PROBE_NONCE_BYTES = 16;
const NONCE_OFFSET = 8;
const KEY_OFFSET = 24;
const KEY_BYTES = 32;

/** A decoded key probe (views into the datagram). */
export interface KeyProbe {
  answer: boolean;
  nonce: Uint8Array;
  publicKey: Uint8Array;
}

/** Encodes a request (without `publicKey`) or an answer. */
export function encodeKeyProbe(nonce: Uint8Array, publicKey?: Uint8Array): Uint8Array {
  const out = new Uint8Array(KEY_PROBE_BYTES);
  writeCommonHeader(out, MessageType.KeyProbe);
  out[COMMON_HEADER_BYTES] = publicKey ? 1 : 0;
  out.set(nonce.subarray(0, KEY_PROBE_NONCE_BYTES), NONCE_OFFSET);
  if (publicKey) out.set(publicKey.subarray(0, KEY_BYTES), KEY_OFFSET);
  return out;
}

/** Decodes a key probe, or null when the size or the answer flag is wrong. */
export function decodeKeyProbe(msg: Uint8Array): KeyProbe | null {
  if (msg.length !== KEY_PROBE_BYTES) return null;
  const flag = msg[COMMON_HEADER_BYTES];
  if (flag !== 0 && flag !== 1) return null;
  return {
    answer: flag === 1,
    nonce: msg.subarray(NONCE_OFFSET, NONCE_OFFSET + KEY_PROBE_NONCE_BYTES),
    publicKey: msg.subarray(KEY_OFFSET, KEY_OFFSET + KEY_BYTES),
  };
}
