import { blake2sHash, blake2sMac } from "../crypto/blake2s.ts";
import { COMMON_HEADER_BYTES, MessageType, writeCommonHeader } from "./header.ts";
import { MAX_PAYLOAD_BYTES } from "./tlv.ts";

/**
 * Handshake messages: the two Noise IKpsk2 messages framed with session indexes and a MAC.
 *
 * ```
 * Initiation (type 1)                       Response (type 2)
 * +--------------------------------+        +--------------------------------+
 * | version=1 | type=1 | reserved  |        | version=1 | type=2 | reserved  |
 * +--------------------------------+        +--------------------------------+
 * | sender index (u32 LE)          |        | sender index (u32 LE)          |
 * +--------------------------------+        +--------------------------------+
 * | Noise message 1:               |        | receiver index (u32 LE)        |
 * |  e (32) | enc s (48) |         |        +--------------------------------+
 * |  enc payload (n + 16)          |        | Noise message 2:               |
 * +--------------------------------+        |  e (32) | enc payload (n + 16) |
 * | mac1 (16)                      |        +--------------------------------+
 * +--------------------------------+        | mac1 (16)                      |
 *                                           +--------------------------------+
 * ```
 * mac1 = BLAKE2s-128 keyed with BLAKE2s("mac1----" || network PSK || receiver's static public
 * key) over the bytes before it. It costs a hash to check, so a receiver drops datagrams from
 * anyone who does not know both its public key and the network secret before doing any
 * Diffie-Hellman work, and before a non-member could make it keep any state.
 */

/** Bytes of the MAC at the end of handshake messages. */
export const MAC_BYTES = 16;
const NOISE_MSG1_FIXED_BYTES = 32 + 48 + 16;
const NOISE_MSG2_FIXED_BYTES = 32 + 16;
const INITIATION_PREFIX_BYTES = COMMON_HEADER_BYTES + 4;
const RESPONSE_PREFIX_BYTES = COMMON_HEADER_BYTES + 8;

/** Smallest and largest initiation messages. */
export const INITIATION_MIN_BYTES = INITIATION_PREFIX_BYTES + NOISE_MSG1_FIXED_BYTES + MAC_BYTES;
export const INITIATION_MAX_BYTES = INITIATION_MIN_BYTES + MAX_PAYLOAD_BYTES;
/** Smallest and largest response messages. */
export const RESPONSE_MIN_BYTES = RESPONSE_PREFIX_BYTES + NOISE_MSG2_FIXED_BYTES + MAC_BYTES;
export const RESPONSE_MAX_BYTES = RESPONSE_MIN_BYTES + MAX_PAYLOAD_BYTES;

const MAC1_LABEL = new TextEncoder().encode("mac1----");

/** The mac1 key of a receiver in a network (compute once per key). */
export function mac1Key(receiverStatic: Uint8Array, psk: Uint8Array): Uint8Array {
  const input = new Uint8Array(MAC1_LABEL.length + psk.length + receiverStatic.length);
  input.set(MAC1_LABEL);
  input.set(psk, MAC1_LABEL.length);
  input.set(receiverStatic, MAC1_LABEL.length + psk.length);
  return blake2sHash(input);
}

function mac1(key: Uint8Array, body: Uint8Array): Uint8Array {
  return blake2sMac(key, body, MAC_BYTES);
}

/** True when the last 16 bytes of `msg` are the right mac1 under `key`. */
export function verifyMac1(key: Uint8Array, msg: Uint8Array): boolean {
  const body = msg.subarray(0, msg.length - MAC_BYTES);
  const expected = mac1(key, body);
  const got = msg.subarray(msg.length - MAC_BYTES);
  let diff = 0;
  for (let i = 0; i < MAC_BYTES; i++) diff |= expected[i]! ^ got[i]!;
  return diff === 0;
}

function frame(prefix: Uint8Array, noise: Uint8Array, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix.length + noise.length + MAC_BYTES);
  out.set(prefix);
  out.set(noise, prefix.length);
  out.set(mac1(key, out.subarray(0, out.length - MAC_BYTES)), out.length - MAC_BYTES);
  return out;
}

function u32le(out: Uint8Array, off: number, v: number): void {
  out[off] = v;
  out[off + 1] = v >>> 8;
  out[off + 2] = v >>> 16;
  out[off + 3] = v >>> 24;
}

function readU32le(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

/** Frames Noise message 1 for a receiver whose mac1 key is `receiverMac1Key`. */
export function encodeInitiation(
  senderIndex: number,
  noise: Uint8Array,
  receiverMac1Key: Uint8Array,
): Uint8Array {
  const prefix = new Uint8Array(INITIATION_PREFIX_BYTES);
  writeCommonHeader(prefix, MessageType.HandshakeInitiation);
  u32le(prefix, 4, senderIndex);
  return frame(prefix, noise, receiverMac1Key);
}

/** A decoded initiation (views into the datagram). */
export interface Initiation {
  senderIndex: number;
  noise: Uint8Array;
}

/** Decodes an initiation, or null when its size is impossible. Check mac1 separately. */
export function decodeInitiation(msg: Uint8Array): Initiation | null {
  if (msg.length < INITIATION_MIN_BYTES || msg.length > INITIATION_MAX_BYTES) return null;
  return {
    senderIndex: readU32le(msg, 4),
    noise: msg.subarray(INITIATION_PREFIX_BYTES, msg.length - MAC_BYTES),
  };
}

/** Frames Noise message 2. */
export function encodeResponse(
  senderIndex: number,
  receiverIndex: number,
  noise: Uint8Array,
  receiverMac1Key: Uint8Array,
): Uint8Array {
  const prefix = new Uint8Array(RESPONSE_PREFIX_BYTES);
  writeCommonHeader(prefix, MessageType.HandshakeResponse);
  u32le(prefix, 4, senderIndex);
  u32le(prefix, 8, receiverIndex);
  return frame(prefix, noise, receiverMac1Key);
}

/** A decoded response (views into the datagram). */
export interface Response {
  senderIndex: number;
  receiverIndex: number;
  noise: Uint8Array;
}

/** Decodes a response, or null when its size is impossible. Check mac1 separately. */
export function decodeResponse(msg: Uint8Array): Response | null {
  if (msg.length < RESPONSE_MIN_BYTES || msg.length > RESPONSE_MAX_BYTES) return null;
  return {
    senderIndex: readU32le(msg, 4),
    receiverIndex: readU32le(msg, 8),
    noise: msg.subarray(RESPONSE_PREFIX_BYTES, msg.length - MAC_BYTES),
  };
}
